"""A worker in its own user + PID namespace: whatever kills it kills every process it started.

The subreaper (see reaper) ends what a run leaves behind as long as the server lives; a server
killed with SIGKILL cannot, and the daemons its runs left would be adopted by init. Inside a
PID namespace the kernel ends every process in it when its first process (its init) dies, so
the worker runs as: the process gradquiz started (outside) -> the namespace's init (dies with
it: PR_SET_PDEATHSIG) -> the servers and their runs. A user namespace makes this need no
privileges where the kernel allows unprivileged ones; elsewhere `enter` says no and the worker
runs as before (`gradquiz doctor` says which).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from dataclasses import dataclass
from typing import NoReturn

from gradquiz.lab import reaper

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
_CAPABILITY_VERSION_3 = 0x20080522
# How the namespace's init says it could not set the namespace up (mount /proc).
EXIT_NO_PROC = 75
# How long the init waits, once the first server has exited, for the other servers to finish
# cleaning up before its own exit ends them.
LINGER_SECONDS = 2.0


# A descriptor of the /proc gradquiz sees, kept from before the namespace's own was mounted:
# the pid a server reports must be one gradquiz can signal.
@dataclass
class _Outside:
    proc: int | None = None


_outside = _Outside()


def outer_pid() -> int:
    """This process's pid as gradquiz sees it."""
    if _outside.proc is None:
        return os.getpid()
    return int(os.readlink("self", dir_fd=_outside.proc))


def outer_proc_fd() -> int | None:
    """The descriptor a run's child must close: it would show the snippet gradquiz's /proc."""
    return _outside.proc


def drop_capabilities() -> bool:
    """Give up the capabilities the user namespace granted: a run that could mount would
    hide the worker's /proc from its sweep. Where there is no namespace there are none."""
    if _outside.proc is None:
        return True
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    nothing = (ctypes.c_uint32 * 6)()
    return int(_libc().capset(header, nothing)) == 0


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _unshare() -> bool:
    """Into a new user, PID (for children) and mount namespace, mapped to our own ids."""
    uid, gid = os.getuid(), os.getgid()
    if int(_libc().unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS)) != 0:
        return False
    try:
        with open("/proc/self/uid_map", "w") as handle:  # noqa: PTH123
            handle.write(f"{uid} {uid} 1")
        with open("/proc/self/setgroups", "w") as handle:  # noqa: PTH123
            handle.write("deny")
        with open("/proc/self/gid_map", "w") as handle:  # noqa: PTH123
            handle.write(f"{gid} {gid} 1")
    except OSError:
        return False
    return True


def _mount_proc() -> bool:
    """A /proc showing this namespace's processes, so that pids read there can be signalled."""
    libc = _libc()
    if int(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)) != 0:
        return False
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    return int(libc.mount(b"proc", b"/proc", b"proc", flags, None)) == 0


def available() -> bool:
    """Whether `enter` would succeed here, tried in a throwaway child."""
    if not sys.platform.startswith("linux"):
        return False
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if _unshare():
                inner = os.fork()
                if inner == 0:
                    os._exit(0 if _mount_proc() else 1)
                code = os.waitstatus_to_exitcode(os.waitpid(inner, 0)[1])
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def enter() -> bool:
    """Go on as the first process inside a new namespace; False (nothing changed) where
    Linux does not allow it. The calling process stays outside, forwards SIGTERM and exits
    as the inside does: it never returns."""
    if not available() or not _unshare():
        return False
    # Blocked until the init has its handler: a SIGTERM in between must not be lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    outside = os.getpid()
    init = os.fork()
    if init != 0:
        _stay_outside(init)
    reaper.die_with_parent()
    _outside.proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    if _outer_parent() != outside:  # the outside died before we could ask to die with it
        os._exit(0)
    if not _mount_proc():
        os._exit(EXIT_NO_PROC)
    server = os.fork()
    if server != 0:
        _be_init(server)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    return True


def _outer_parent() -> int:
    """Our parent's pid as gradquiz sees it (inside, getppid says 0: it is outside)."""
    assert _outside.proc is not None
    with open("self/stat", "rb", opener=_opener) as handle:
        return int(handle.read().rsplit(b")", 1)[1].split()[1])


def _opener(path: str, flags: int) -> int:
    return os.open(path, flags, dir_fd=_outside.proc)


def _stay_outside(init: int) -> NoReturn:
    """The process gradquiz knows: passes SIGTERM in, leaves as the namespace does."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _forward(init, signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    _exit_as(_wait(init))


def _be_init(server: int) -> NoReturn:
    """The namespace's init: reaps every orphan and leaves when the first server does, which
    ends everything still inside (other servers are given a moment to clean up)."""
    # An init only receives the signals it handles.
    signal.signal(signal.SIGTERM, lambda signum, frame: _forward(server, signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    status = _wait(server)
    signal.signal(signal.SIGALRM, _linger_over)
    signal.setitimer(signal.ITIMER_REAL, LINGER_SECONDS)
    with contextlib.suppress(ChildProcessError, _LingerOver):
        while True:
            os.wait()
    _exit_as(status)


class _LingerOver(Exception):
    pass


def _linger_over(signum: int, frame: object) -> None:
    raise _LingerOver


def _forward(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait(pid: int) -> int:
    """`pid`'s exit status, reaping any other child (an orphan) that ends meanwhile."""
    while True:
        ended, status = os.wait()
        if ended == pid:
            return status


def _exit_as(status: int) -> NoReturn:
    """Exit the way the process whose `status` this is did, so gradquiz can say how."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if os.getpid() != 1:  # an init cannot be killed by its own signal
            signal.signal(number, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
            os.kill(os.getpid(), number)
        os._exit(128 + number)
    code = os.waitstatus_to_exitcode(status)
    if code > 128 and os.getpid() != 1:
        # The init's way of saying its server was killed by a signal: be killed by it too.
        signal.signal(code - 128, signal.SIG_DFL)
        os.kill(os.getpid(), code - 128)
    os._exit(code)
