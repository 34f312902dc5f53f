from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from gradquiz.lab import caps

BLOCK = 64 * caps.MiB


@pytest.fixture
def sharing_child() -> Iterator[int]:
    """A child that shares a 64 MiB block it never writes with this process."""
    block = bytearray(b"\1" * BLOCK)
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(ready_write, b"x")
        time.sleep(60)
        os._exit(0)
    os.read(ready_read, 1)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(ready_read)
        os.close(ready_write)
        del block


def test_memory_over_a_limit_is_told_by_pss_where_resident_sizes_are_over(
    sharing_child: int,
) -> None:
    resident, pss = caps.resident_memory([sharing_child]), caps.tree_memory([sharing_child])
    # The shared block counts whole in the child's resident size, half in its PSS.
    assert resident - pss > BLOCK // 4
    between = (resident + pss) // 2
    assert not caps.over_memory([sharing_child], between)
    assert caps.over_memory([sharing_child], pss - caps.MiB)


def test_memory_under_a_limit_by_resident_sizes_walks_no_page_table(
    sharing_child: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = caps.resident_memory([sharing_child])

    def walked(pids: list[int]) -> int:
        raise AssertionError("PSS was read")

    monkeypatch.setattr(caps, "tree_memory", walked)
    assert not caps.over_memory([sharing_child], resident + caps.RESIDENT_SLACK + caps.MiB)
    with pytest.raises(AssertionError, match="PSS was read"):
        caps.over_memory([sharing_child], resident + caps.RESIDENT_SLACK - caps.MiB)


def test_a_gone_process_uses_no_memory() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert caps.resident_memory([pid]) == 0
    assert not caps.over_memory([pid], 0)
