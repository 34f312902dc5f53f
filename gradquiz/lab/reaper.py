"""Nothing an experiment starts outlives it: the server adopts every orphan and ends them all.

Linux only, no privileges: the server is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so a
process a snippet leaves behind (double-forked, `setsid`) is re-parented to the server rather
than to init, and after each run the server kills the whole tree below itself. Elsewhere the
functions here do nothing and say so (`gradquiz doctor`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# A tree that keeps forking while it is being killed is bounded by the process cap; this
# bounds the sweep itself should that cap not hold (a privileged user).
SWEEP_SECONDS = 5.0


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0)) == 0


def become_subreaper() -> bool:
    """Adopt every orphan among this process's descendants; False where Linux says no."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> bool:
    """Ask Linux to kill this process when its parent dies (SIGKILL, OOM) without cleaning up."""
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def has_children() -> bool:
    """Any child at all, living or not reaped: the cheap test before a sweep."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _parents() -> dict[int, list[int]]:
    """Every process's children, from one pass over /proc."""
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:  # noqa: PTH123
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:  # gone since the listing
            continue
        tree[int(fields[1])].append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, parents before children."""
    tree = _parents()
    found, queue = [], list(tree.get(pid, ()))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(tree.get(child, ()))
    return found


def end_descendants() -> int:
    """Kill and reap every process below this one; how many there were.

    Killed parents first, so none is left to fork again; their children come to us (we are
    the subreaper) and the next pass takes them.
    """
    ended = 0
    deadline = time.monotonic() + SWEEP_SECONDS
    while has_children() and time.monotonic() < deadline:
        for pid in descendants(os.getpid()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            ended += 1
        _reap()
    return ended


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass
    # The ones killed but not yet exited: wait a moment for them rather than spin.
    if has_children():
        time.sleep(0.001)


def alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"
