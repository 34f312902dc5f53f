"""What this machine lets the lab enforce, found by trying (for `gradquiz doctor`).

Each probe runs in a forked child, so nothing it changes stays with the caller. No torch.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from gradquiz.lab import reaper

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000


@dataclass(frozen=True)
class Finding:
    """One guarantee: whether this machine gives it, and what that means for a learner."""

    name: str
    held: bool
    detail: str


def _in_child(probe: Callable[[], bool]) -> bool:
    """`probe()` in a forked child: True if it returned True there."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if probe() else 1)
        finally:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _namespaces() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.unshare(CLONE_NEWUSER | CLONE_NEWPID)) == 0


def _pidfd() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def findings() -> list[Finding]:
    linux = sys.platform.startswith("linux")
    subreaper = linux and _in_child(reaper.become_subreaper)
    namespaces = linux and _in_child(_namespaces)
    return [
        Finding(
            "processes a snippet starts end with its run (child subreaper)",
            subreaper,
            "daemons, double forks and setsid are adopted by the worker and killed after each run"
            if subreaper
            else "a snippet's background processes can outlive its run",
        ),
        Finding(
            "a run ends when its process does (pidfd)",
            linux and _pidfd(),
            "a child holding the result pipe open cannot stretch a run"
            if linux and _pidfd()
            else "the worker polls for the run's exit every 20 ms",
        ),
        Finding(
            "a worker killed with SIGKILL takes its runs' processes with it",
            False,
            "not enforced: a run's own process dies with the worker, but what it started in "
            "the background may survive; user + PID namespaces, which would end them, are "
            + ("allowed here but not used yet" if namespaces else "not allowed here"),
        ),
    ]
