"""A variant's own process: forked from the warm worker, confined, run, reported, ended.

The child starts from the warm, untouched worker, so a variant costs a fork instead of an
interpreter and a torch import. Before the snippet runs, the child gives up everything of the
worker's it must not hold, moves into its own directory and takes its caps (address space,
file size, processes); `Spare` is the worker's handle on it until `discard` ends it and
everything it started. A child may run the next request from the same question file, but only
while its runs leave it as they found it (see fingerprint): nothing a variant changes (grad
mode, dtype, monkeypatched modules, files) can reach another.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from gradquiz.lab import caps, enclosure, reaper
from gradquiz.lab.protocol import (
    Frame,
    FrameError,
    Run,
    Step,
    VariantRequest,
    read_frame,
    write_frame,
)

OUTPUT_FILE = ".gradquiz-output"
MAX_FILE_BYTES = 256 * 1024 * 1024
THREADS = "threads and processes"
# How a child says why it ended without a result: gradquiz's own code failed in it, or the
# snippet took away the pipe its results go through.
EXIT_CRASHED = 70
EXIT_PIPE_LOST = 71
# How long a child whose run left it unchanged waits for another run of the question. The
# worker sends it at once when it has one; a child it stopped understanding (a snippet wrote
# half a frame into the pipe) must not look like a run still going until the timeout.
ANOTHER_SECONDS = 2.0
EXIT_NOT_ASKED = 72


class CappedStream:
    """sys.stdout for a snippet: writes through to the output file until the cap, then drops."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.left = cap
        self.dropped = 0

    def write(self, text: str) -> int:
        if self.left > 0:
            kept = text[: self.left]
            self.left -= len(kept)
            with contextlib.suppress(OSError):
                os.write(self.fd, kept.encode("utf-8", "replace"))
            self.dropped += len(text) - len(kept)
        else:
            self.dropped += len(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def close_note(self) -> None:
        if self.dropped:
            note = f"\n[output cut: {self.dropped:,} more characters not kept]\n"
            with contextlib.suppress(OSError):
                os.write(self.fd, note.encode())


def _virtual_memory() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class StepCell:
    """The step a run is in, in memory the child shares with the server: a frame a step
    through the pipe would cost a write and a wake-up, and the server needs the step only
    when a run does not finish (to say where it stopped). The child can write anything
    there, so the server keeps only a step the run has."""

    _FORMAT = struct.Struct("<q")

    def __init__(self) -> None:
        self.memory = mmap.mmap(-1, mmap.PAGESIZE)

    def set(self, step: int) -> None:
        self._FORMAT.pack_into(self.memory, 0, step)

    def get(self, steps: int) -> int | None:
        (step,) = self._FORMAT.unpack_from(self.memory, 0)
        return step if 1 <= step <= steps else None


@dataclass
class Spare:
    """A child forked ahead of its request, so the fork is paid while the worker is idle."""

    pid: int
    request_fd: int
    result_fd: int
    workdir: str
    # The parent's own descriptor of the output file: a snippet that replaces the file (by a
    # FIFO, say) cannot make the parent open something else.
    output_fd: int
    torchvision: bool
    # Readable once the child has exited (None where Linux has no pidfd_open).
    pidfd: int | None
    # The step the child's run is in (see StepCell).
    steps: StepCell
    status: int | None = None
    # The last request it ran, while it waits to run another from the same file.
    ran: VariantRequest | None = None
    # The bytes its last run sent back.
    received: int = 0

    def can_run(self, request: VariantRequest) -> bool:
        """Fresh, or waiting after runs from the same question file under the same caps."""
        return self.ran is None or self.ran.trust_unit == request.trust_unit

    def kill(self) -> None:
        """End the child and everything it started (its process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.status is None:
            try:
                self.status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:  # reaped by a sweep that SIGTERM cut short
                self.status = 0
        return self.status

    def exited(self) -> bool:
        """Without blocking: has the child exited (its status then kept for `wait`)?"""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def discard(self) -> None:
        """End the child and everything it started, wherever in the tree, and clean up."""
        self.kill()
        self.wait()
        reaper.end_descendants()
        for fd in (self.request_fd, self.result_fd, self.output_fd, self.pidfd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.steps.memory.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


@dataclass(frozen=True)
class ChildSide:
    """What a forked child works with: its ends of the request and result pipes, its output
    file, its step cell, its working directory, and the tasks its user ran when it was forked
    (which its cap on processes comes on top of)."""

    request_fd: int
    result_fd: int
    output_fd: int
    steps: StepCell
    workdir: str
    tasks: int


def fork_spare(client_fds: tuple[int, ...], lab: caps.LabDirectory, tasks: int) -> Spare:
    """A child waiting for its request; `tasks`: the processes and threads its user runs,
    which its request's cap on processes comes on top of (RLIMIT_NPROC)."""
    workdir = lab.run_directory()
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
    output_fd = os.open(Path(workdir, OUTPUT_FILE), flags, 0o600)
    steps = StepCell()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        # Whatever happens here ends here: an exception must not unwind into the server's
        # code, which would then go on in this process as a second server.
        try:
            # The child must not hold gradquiz's pipes: a process it leaves behind would keep
            # them open and hide the worker's death from gradquiz. Nor the lab directory's
            # lock: releasing it would let another gradquiz remove the directory under a live
            # worker.
            # Nor gradquiz's /proc, which would show it the processes outside the namespace.
            outer_proc = enclosure.outer_proc_fd()
            for fd in (*client_fds, request_write, result_read, lab.lock_fd):
                os.close(fd)
            if outer_proc is not None:
                os.close(outer_proc)
            _wait_for_request(
                parent, ChildSide(request_read, result_write, output_fd, steps, workdir, tasks)
            )
        finally:
            os._exit(EXIT_CRASHED)
    # Both sides set the group, so it exists whichever runs first: a kill before the child
    # got that far must still reach it.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    os.close(request_read)
    os.close(result_write)
    torchvision = "torchvision" in sys.modules
    return Spare(
        pid, request_write, result_read, workdir, output_fd, torchvision, _pidfd(pid), steps
    )


def _wait_for_request(parent: int, side: ChildSide) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    reaper.die_with_parent()
    if not enclosure.drop_capabilities():
        os._exit(EXIT_CRASHED)
    if os.getppid() != parent:
        os._exit(0)  # the worker died before we asked
    try:
        frame = read_frame(side.request_fd)
    except FrameError:
        os._exit(0)  # the worker went away before a request came
    match frame:
        case Run(request):
            _child(request, side)


def _child(request: VariantRequest, side: ChildSide) -> None:
    """In the forked child: confine, then run and report until a run leaves its mark on the
    process or the worker sends no other. Never returns."""
    from gradquiz.lab import fingerprint
    from gradquiz.lab.runner import run_variant

    workdir, result_fd, steps = side.workdir, side.result_fd, side.steps
    os.chdir(workdir)
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = None
    os.dup2(side.output_fd, 1)
    os.dup2(side.output_fd, 2)
    stream = CappedStream(side.output_fd, request.limits.output_chars)
    sys.stdout = sys.stderr = stream
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    _lower(resource.RLIMIT_AS, _virtual_memory() + request.limits.memory_mb * 1024 * 1024)
    _lower(resource.RLIMIT_NPROC, side.tasks + request.limits.processes)
    # What the worker made since it last froze its heap is the worker's, not the run's: frozen
    # too, a collection after each run looks at the run's own objects alone, and does not
    # copy the pages of the worker's.
    gc.freeze()
    status = 0
    try:
        found = fingerprint.take(workdir)
        while True:
            promoted = gc.get_stats()[1]["collections"]
            steps.set(0)

            def emit(frame: Frame) -> None:
                if isinstance(frame, Step):
                    steps.set(frame.step)
                else:
                    write_frame(result_fd, frame)

            done = run_variant(request, emit)
            # The run's cycles (a function it defined and the namespace that holds it) go now,
            # their finalizers before the fingerprint looks and the output is closed, and the
            # next run reuses their memory instead of faulting in new pages. Only a run long
            # enough to have moved objects into the oldest generation needs a full
            # collection, which also empties the free lists: pages copied from the worker. A
            # run that left threads or processes ends its child anyway, and collecting what
            # owns them (a process group) can wait on them past the run's timeout.
            if fingerprint.PROBES[THREADS](workdir) == found[THREADS]:
                gc.collect(2 if gc.get_stats()[1]["collections"] != promoted else 1)
            stream.close_note()
            reusable = not fingerprint.changes(found, fingerprint.take(workdir))
            write_frame(result_fd, replace(done, reusable=reusable))
            following = _next_request(side.request_fd) if reusable else None
            if following is None:
                break
            request = following
    except OSError:
        status = EXIT_PIPE_LOST
    except BaseException:
        status = EXIT_CRASHED
    os._exit(status)


def _next_request(request_fd: int) -> VariantRequest | None:
    """The worker's next request for this child, or None when it has none (it closed the pipe);
    exits with EXIT_NOT_ASKED when none came in time."""
    if not select.select([request_fd], [], [], ANOTHER_SECONDS)[0]:
        os._exit(EXIT_NOT_ASKED)
    try:
        frame = read_frame(request_fd)
    except FrameError:
        return None
    match frame:
        case Run(request):
            return request
    return None


def _lower(limit: int, value: int) -> None:
    """Set an rlimit to `value`, or leave it where the user's own limit is lower already."""
    _, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, value))


def describe_death(status: int) -> str:
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_PIPE_LOST:
        return (
            "the experiment closed the pipe its results go back through "
            "(does its code close file descriptors?)"
        )
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the experiment's process was killed by {name} (signal {number})"
    return f"the experiment's process exited with code {os.waitstatus_to_exitcode(status)}"


def read_output(output_fd: int, cap: int) -> str:
    try:
        data = os.pread(output_fd, cap * 4 + 256, 0)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text if len(text) <= cap + 200 else text[:cap] + "\n[output cut]\n"
