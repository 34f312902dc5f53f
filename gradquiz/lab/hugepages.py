"""The warm worker's memory in huge pages, so that forking a run costs less.

A fork copies one page-table entry for every 4 KiB page of the worker's private memory, and the
child's exit drops them all again: for a worker of 300 MiB that is most of what a short run
costs. Backed by 2 MiB pages, the same memory takes one entry per 2 MiB. `MADV_COLLAPSE`
(Linux 6.1) asks for that once, for memory the worker already has; a child that writes to a
huge page still copies only the 4 KiB it writes. Elsewhere (older kernels, no transparent huge
pages) the request fails and nothing changes.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from pathlib import Path

MADV_COLLAPSE = 25
_PMD_SIZE = Path("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")


def _huge_page_size() -> int | None:
    try:
        return int(_PMD_SIZE.read_text())
    except (OSError, ValueError):
        return None


def _private_anonymous(maps: str) -> list[tuple[int, int]]:
    """The writable memory of no file (the heap, allocator arenas), from /proc/self/maps."""
    spans = []
    for line in maps.splitlines():
        fields = line.split()
        named = len(fields) > 5
        if "w" not in fields[1] or fields[1][3] != "p" or (named and fields[5] != "[heap]"):
            continue
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        spans.append((start, end))
    return spans


def collapse() -> int:
    """Back this process's private anonymous memory with huge pages; the bytes that now are."""
    size = _huge_page_size()
    if not sys.platform.startswith("linux") or size is None:
        return 0
    madvise = ctypes.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    collapsed = 0
    for start, end in _private_anonymous(Path("/proc/self/maps").read_text()):
        # Only whole huge pages inside the span can be collapsed.
        first, last = -(-start // size) * size, end // size * size
        if last > first and madvise(first, last - first, MADV_COLLAPSE) == 0:
            collapsed += last - first
    return collapsed


def collapse_meanwhile() -> threading.Thread:
    """`collapse` on another thread, while this one goes on: the call into the kernel lets go
    of the interpreter, so a start-up that keeps one core busy importing keeps the other busy
    collapsing what the imports so far have mapped."""
    thread = threading.Thread(target=collapse, name="gradquiz-collapse", daemon=True)
    thread.start()
    return thread
