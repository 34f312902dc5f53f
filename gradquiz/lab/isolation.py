"""What this machine lets the lab enforce, found by trying (for `gradquiz doctor`).

Each probe runs in a forked child, so nothing it changes stays with the caller. No torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from gradquiz.lab import caps, enclosure, reaper
from gradquiz.lab.protocol import Limits


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


def _pidfd() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def findings() -> list[Finding]:
    linux = sys.platform.startswith("linux")
    subreaper = linux and _in_child(reaper.become_subreaper)
    namespaces = linux and enclosure.available()
    nproc = linux and caps.nproc_enforced()
    cgroup = linux and caps.cgroup_v2_delegated()
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
            "a run's processes and threads are capped (RLIMIT_NPROC)",
            nproc,
            f"at {Limits().processes} on top of what this user already runs"
            if nproc
            else "not enforced: Linux exempts root and CAP_SYS_RESOURCE from it; only the "
            "sweep after each run bounds a fork bomb",
        ),
        Finding(
            "a run's memory is capped across its processes by the kernel (cgroup v2)",
            False,
            "not used: the worker sums its processes' memory (PSS) every "
            f"{caps.WATCH_SECONDS:g} s and ends the run over {Limits().memory_mb} MiB; "
            "each process also has its own address-space cap"
            + ("; a delegated cgroup v2 is available" if cgroup else ""),
        ),
        Finding(
            "a run's working directory is capped",
            True,
            f"at {Limits().disk_mb} MiB, measured every {caps.WATCH_SECONDS:g} s (a fast "
            "writer can go past it by what it writes in that time); files elsewhere are "
            "only capped one by one",
        ),
        Finding(
            "what the worker reads from a run is bounded",
            True,
            f"a trace over {caps.TRACE_BYTES // caps.MiB} MiB is cut and said so",
        ),
        Finding(
            "a worker killed with SIGKILL takes its runs' processes with it (user + PID namespace)",
            namespaces,
            "each worker runs in its own PID namespace, which Linux ends as a whole"
            if namespaces
            else "not enforced: a run's own process dies with the worker, but what it started "
            "in the background may survive; this machine does not allow unprivileged user + "
            "PID namespaces (or mounting /proc in them)",
        ),
    ]
