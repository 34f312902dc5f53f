"""Limits that hold for a run as a whole, across every process it starts.

Per process, the child has rlimits (address space, file size). Across processes, without
privileges and without a delegated cgroup v2 (which `gradquiz doctor` reports), the worker
caps the number of processes and threads (RLIMIT_NPROC, counted per user by Linux), and
watches the run while it lasts: the memory of all its processes together and the size of
its working directory. Each worker keeps its runs' directories in one lab directory,
locked while it lives, so the next start can remove those of a worker that was killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Bytes of frames the worker reads from one run: a trace beyond this is cut and said so.
TRACE_BYTES = 32 * 1024 * 1024
# How often a run that is still going is measured against the caps above.
WATCH_SECONDS = 0.25
LAB_PREFIX = "gradquiz-lab-"
LOCK_FILE = "lock"
# A lab directory without a lock file is someone's start in progress for this long.
UNLOCKED_SECONDS = 60
MiB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    """What a run's processes may use together, in bytes: memory on top of what they
    share with the worker from the start (`inherited`), and files in its directory."""

    memory: int
    inherited: int
    disk: int


def user_tasks() -> int:
    """Processes and threads this user runs now (what RLIMIT_NPROC counts)."""
    uid = os.getuid()
    tasks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as handle:  # noqa: PTH123
                tasks += int(handle.read().rsplit(b")", 1)[1].split()[17])
        except (OSError, IndexError, ValueError):
            continue
    return tasks


def nproc_enforced() -> bool:
    """Whether Linux applies RLIMIT_NPROC to us: not to root, nor with CAP_SYS_RESOURCE or
    CAP_SYS_ADMIN."""
    if os.geteuid() == 0:
        return False
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                effective = int(line.split()[1], 16)
                return not effective & ((1 << 24) | (1 << 21))
    except OSError:
        pass
    return True


# How far Linux's resident sizes may be behind: it keeps them in per-CPU counters and reads
# them without adding up every CPU's share.
RESIDENT_SLACK = 64 * MiB


def over_memory(pids: list[int], limit: int) -> bool:
    """Whether the processes use more than `limit` bytes together, each shared page counted
    once (PSS). Their resident sizes are added first: never less than that, and read at once
    where PSS walks every page table (5 ms for a child that built a ResNet, four times a
    second, while it waits for its memory map)."""
    return resident_memory(pids) > limit - RESIDENT_SLACK and tree_memory(pids) > limit


def resident_memory(pids: list[int]) -> int:
    """Bytes of memory the processes have resident, a page shared by several counted in each."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:  # noqa: PTH123
                total += int(handle.read().split()[1]) * mmap.PAGESIZE
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_memory(pids: list[int]) -> int:
    """Bytes of memory the processes use together, each shared page counted once (PSS)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:  # noqa: PTH123
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def directory_bytes(path: str, limit: int) -> int:
    """Bytes on disk under `path`, counting no further than `limit`."""
    total = 0
    stack = [path]
    while stack and total <= limit:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
    return total


def cgroup_v2_delegated() -> bool:
    """Whether this process could give a run its own cgroup with a memory limit."""
    try:
        line = Path("/proc/self/cgroup").read_text().splitlines()[0]
    except (OSError, IndexError):
        return False
    if not line.startswith("0::"):
        return False  # cgroup v1, or a hybrid without the v2 memory controller here
    group = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    try:
        controllers = (group / "cgroup.controllers").read_text().split()
    except OSError:
        return False
    return "memory" in controllers and os.access(group / "cgroup.subtree_control", os.W_OK)


class LabDirectory:
    """The directory a worker keeps its runs' working directories in, locked while it lives.

    A flock dies with the last process holding it, so a lab directory whose lock can be taken
    belongs to a worker that is gone (killed before it could clean up).
    """

    def __init__(self) -> None:
        remove_stale()
        self.path = tempfile.mkdtemp(prefix=f"{LAB_PREFIX}{os.getpid()}-")
        self.lock_fd = os.open(Path(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)

    def run_directory(self) -> str:
        return tempfile.mkdtemp(prefix="run-", dir=self.path)

    def leave(self) -> None:
        """Let go of the directory; the last server of the worker to leave removes it."""
        os.close(self.lock_fd)
        if _unlocked(Path(self.path, LOCK_FILE)):
            shutil.rmtree(self.path, ignore_errors=True)


def remove_stale(parent: str | None = None) -> list[str]:
    """Remove this user's lab directories whose worker is gone; the paths removed."""
    removed = []
    uid = os.getuid()
    for entry in os.scandir(parent or tempfile.gettempdir()):
        if not entry.name.startswith(LAB_PREFIX):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
                continue
            if _unlocked(Path(entry.path, LOCK_FILE)):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _unlocked(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        # Killed between making the directory and locking it, or starting right now.
        return time.time() - lock.parent.stat().st_mtime > UNLOCKED_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
