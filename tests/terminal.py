"""Reading a program's pseudo-terminal in the tests that start gradquiz in one."""

from __future__ import annotations

import os
import select
import time


def read_until(master: int, needle: bytes, seconds: float = 120) -> bytes:
    """What the terminal received, up to and including `needle`."""
    deadline = time.monotonic() + seconds
    seen = b""
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} was not drawn; the screen had {seen[-2000:]!r}"
        if select.select([master], [], [], left)[0]:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the program ended and closed the terminal
                chunk = b""
            assert chunk, f"gradquiz ended before drawing {needle!r}: {seen[-2000:]!r}"
            seen += chunk
    return seen


def rest(master: int) -> bytes:
    """What the terminal receives until the program ends: read, so that a program drawing its
    last frames never blocks on a full terminal while the test waits for it to exit."""
    seen = b""
    while select.select([master], [], [], 30)[0]:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen
