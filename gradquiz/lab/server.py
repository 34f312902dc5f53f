"""The worker's loop: one spare child always forked and waiting, each request handed to it.

The server enforces what the child cannot enforce on itself: the timeout, the caps that hold
across processes (see caps), a bound on what it reads back, and that nothing the run started
outlives it (see reaper). Every frame from the child is checked (see protocol): the snippet
can write into the pipe they come through.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gradquiz.lab import caps, enclosure, hugepages, reaper
from gradquiz.lab.protocol import (
    BROKEN_RESULT,
    DISK_LIMIT,
    MEMORY_LIMIT,
    TIMEOUT,
    TRACE_TOO_LARGE,
    WORKER_DIED,
    Columns,
    Done,
    Frame,
    FrameError,
    FrameReader,
    GetStats,
    Ready,
    Result,
    Row,
    Run,
    RunBatch,
    RunError,
    Stats,
    Step,
    TraceRow,
    VariantRequest,
    VariantResult,
    read_frame,
    write_frame,
)
from gradquiz.lab.sandbox import EXIT_NOT_ASKED, Spare, describe_death, fork_spare, read_output

# How often the parent looks whether a child has exited where Linux has no pidfd (< 5.3).
POLL_SECONDS = 0.02
# How often a server counts its user's processes again, for the cap on a run's processes.
TASKS_RECOUNT_SECONDS = 10.0
# A trace this large leaves the server's heap grown by several times as much once decoded.
TRIM_AFTER_BYTES = 4 * caps.MiB


def _resident_memory() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def peak_memory_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@dataclass
class Collected:
    """What the parent heard from a child before it finished, died or ran out of time."""

    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    step: int | None = None
    done: Done | None = None
    timed_out: bool = False
    orphaned: bool = False
    broken: str | None = None
    # A cap the run went over, as the error's (type, message).
    over: tuple[str, str] | None = None
    received: int = 0
    reader: FrameReader = field(default_factory=FrameReader)
    # Frames after the final one: something besides the run writes to the pipe.
    late: int = 0

    def take(self, frame: Frame) -> None:
        if self.done is not None:
            self.late += 1
            return
        match frame:
            case TraceRow(row):
                self.rows.append(row)
            case Columns(columns):
                self.columns = columns
            case Step(step):
                self.step = step
            case Done():
                self.done = frame
            case _:
                raise FrameError(f"a {frame.kind!r} frame, which experiments do not send")


def _collect(spare: Spare, control_fd: int, deadline: float, budget: caps.Budget) -> Collected:
    """Frames until the final one, the child's exit or the deadline, whichever comes first.

    The pipe's end is no sign: a process the snippet started may hold it open (or the
    snippet may close it) while the child runs on or after it has gone.
    """
    collected = Collected()
    try:
        _listen(spare, control_fd, deadline, budget, collected)
    except FrameError as exc:
        collected.broken = f"the experiment sent a broken result: {exc}"
    if collected.done is None and collected.broken is None and collected.reader.pending:
        collected.broken = "the experiment's result stopped in the middle of a frame"
    return collected


def _listen(
    spare: Spare,
    control_fd: int,
    deadline: float,
    budget: caps.Budget,
    collected: Collected,
) -> None:
    watched = [spare.result_fd, control_fd, *([spare.pidfd] if spare.pidfd is not None else [])]
    measure = time.monotonic() + caps.WATCH_SECONDS
    while collected.done is None and collected.over is None:
        now = time.monotonic()
        if now >= deadline:
            collected.timed_out = True
            return
        if now >= measure:
            collected.over = _over_caps(spare, budget)
            # Measuring a big tree on a busy machine can take longer than the interval:
            # reading the pipe must still get at least twice as long.
            cost = time.monotonic() - now
            measure = now + max(caps.WATCH_SECONDS, 3 * cost)
            continue
        wait = min(deadline, measure) - now
        ready, _, _ = select.select(
            watched, [], [], min(wait, POLL_SECONDS) if spare.pidfd is None else wait
        )
        if control_fd in ready:
            # gradquiz never writes during a run: this is its end of the pipe closing.
            collected.orphaned = True
            return
        if spare.result_fd in ready and not _take(spare.result_fd, collected):
            watched.remove(spare.result_fd)
        if spare.pidfd in ready or (spare.pidfd is None and spare.exited()):
            # Gone: what it wrote before exiting is in the pipe already.
            while (
                spare.result_fd in watched
                and collected.done is None
                and select.select([spare.result_fd], [], [], 0)[0]
                and _take(spare.result_fd, collected)
            ):
                pass
            return


def _take(fd: int, collected: Collected) -> bool:
    """Read what is there into `collected`; False at the pipe's end or over the cap."""
    data = os.read(fd, 1 << 20)
    collected.received += len(data)
    if collected.received > caps.TRACE_BYTES:
        limit = caps.TRACE_BYTES // caps.MiB
        kept = f"the first {len(collected.rows)} rows are kept"
        collected.over = (TRACE_TOO_LARGE, f"the trace is over the {limit} MiB limit; {kept}")
        return False
    for frame in collected.reader.feed(data):
        collected.take(frame)
    return bool(data)


def _over_caps(spare: Spare, budget: caps.Budget) -> tuple[str, str] | None:
    """Whether a run still going has gone over a cap that no rlimit holds across processes."""
    if caps.directory_bytes(spare.workdir, budget.disk) > budget.disk:
        limit = budget.disk // caps.MiB
        return DISK_LIMIT, f"the experiment wrote more than {limit} MiB of files"
    if caps.over_memory(reaper.descendants(os.getpid()), budget.memory + budget.inherited):
        limit = budget.memory // caps.MiB
        return MEMORY_LIMIT, f"the experiment's processes used more than {limit} MiB together"
    return None


def run_on(
    spare: Spare, request: VariantRequest, control_fd: int, inherited: int
) -> VariantResult | None:
    """Hand the request to a spare child and collect its frames until done or the timeout.
    The child is then ended, or kept waiting (`spare.ran`) when it can run another. None: a
    child kept waiting had stopped waiting before the request came (see sandbox).

    `inherited`: bytes of memory the child shares with the worker from the start, which the
    run's cap on memory is on top of."""
    started = time.monotonic()
    waiting = spare.ran is not None
    try:
        write_frame(spare.request_fd, Run(request))
    except BrokenPipeError:
        if waiting:
            return None
        raise
    limits = request.limits
    budget = caps.Budget(limits.memory_mb * caps.MiB, inherited, limits.disk_mb * caps.MiB)
    collected = _collect(spare, control_fd, started + limits.timeout, budget)
    if waiting and not collected.received and _not_asked(spare):
        return None
    spare.received = collected.received
    if _reusable(spare, collected):
        spare.ran = request
    else:
        spare.ran = None
        spare.kill()
    if collected.orphaned:
        raise SystemExit(0)  # the server's cleanup discards this child
    done = collected.done or Done(_unfinished(spare, request, collected), None, None)
    return VariantResult(
        question=request.question,
        variant=request.variant,
        columns=collected.columns,
        rows=collected.rows,
        error=done.error,
        output=read_output(spare.output_fd, limits.output_chars),
        verify=done.verify,
        answer=done.answer,
        seconds=time.monotonic() - started,
        error_graph=done.graph,
    )


def _not_asked(spare: Spare) -> bool:
    """The child exited for want of a request (it stopped waiting for one)."""
    if not spare.exited():
        return False
    status = spare.wait()
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_NOT_ASKED


def _reusable(spare: Spare, collected: Collected) -> bool:
    """The child says its run left it as it was, and nothing else of the run is about: no
    stray bytes in the pipe and no process but the child (anything a run starts is the
    child's, or ours once orphaned)."""
    done = collected.done
    if done is None or not done.reusable or collected.late or collected.reader.pending:
        return False
    return _children() == [spare.pid]


def _children() -> list[int] | None:
    """This process's children, from /proc (None where Linux does not list them)."""
    pid = os.getpid()
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return None
    return [int(child) for child in listed.split()]


def _unfinished(spare: Spare, request: VariantRequest, collected: Collected) -> RunError:
    """Why a run sent no final frame, and at which step it stopped."""
    status = spare.wait()
    step = spare.steps.get(request.steps) or collected.step
    if collected.timed_out:
        return RunError(TIMEOUT, f"timed out after {request.limits.timeout:g} s", step)
    if collected.over is not None:
        return RunError(*collected.over, step)
    if collected.broken is not None:
        return RunError(BROKEN_RESULT, collected.broken, step)
    return RunError(WORKER_DIED, describe_death(status), step)


class Server:
    """The worker's loop: one spare child always forked and waiting for the next request."""

    def __init__(self, in_fd: int, out_fd: int, lab: caps.LabDirectory) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.lab = lab
        self.spare: Spare | None = None
        self.inherited = _resident_memory()
        # What this user runs besides us, counted now and then: a /proc scan per run
        # would cost more than most runs.
        self.tasks = caps.user_tasks()
        self.tasks_counted = time.monotonic()

    def fresh_spare(self) -> Spare:
        if self.spare is not None:
            with _sigterm_held():
                self.spare.discard()
        if time.monotonic() - self.tasks_counted > TASKS_RECOUNT_SECONDS:
            self.tasks = caps.user_tasks()
            self.tasks_counted = time.monotonic()
        self.spare = fork_spare((self.in_fd, self.out_fd), self.lab, self.tasks)
        return self.spare

    def serve(self) -> None:
        """Answer requests until gradquiz goes away; torch must already be imported."""
        import torch

        reaper.become_subreaper()
        self.fresh_spare()
        write_frame(self.out_fd, Ready(enclosure.outer_pid(), torch.__version__))
        try:
            self.loop()
        finally:
            # Whatever ends the worker (gradquiz leaving, SIGTERM) ends the experiment too.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            if self.spare is not None:
                self.spare.discard()
            self.lab.leave()

    def loop(self) -> None:
        while True:
            try:
                frame = read_frame(self.in_fd)
            except FrameError:
                return
            match frame:
                case Run() | RunBatch():
                    self.run_batch([frame.request] if isinstance(frame, Run) else frame.requests)
                case GetStats():
                    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                    write_frame(self.out_fd, Stats(peak_memory_kb(), children))
                case _:
                    return

    def run_batch(self, requests: list[VariantRequest]) -> None:
        """Run each request and answer with its Result; one child runs as many of them as it
        can (same file, see fingerprint), which saves a fork and the child's page faults each."""
        for request in requests:
            spare = self.spare_for(request)
            result = run_on(spare, request, self.in_fd, self.inherited)
            if result is None:
                spare = self.fresh_spare()
                result = run_on(spare, request, self.in_fd, self.inherited)
                assert result is not None  # a fresh child always waits for its request
            write_frame(self.out_fd, Result(result))
            if spare.received > TRIM_AFTER_BYTES:
                # The trace just read grew this process: its children must not map it.
                del result
                trim_heap()
            if spare.ran is None:
                self.fresh_spare()
        if self.spare is not None and self.spare.ran is not None:
            # Reaping, cleaning up and forking the next child overlap gradquiz's work.
            self.fresh_spare()

    def spare_for(self, request: VariantRequest) -> Spare:
        spare = self.spare
        assert spare is not None
        if not spare.can_run(request):
            spare = self.fresh_spare()
        if request.uses_torchvision and not spare.torchvision:
            # Imported once in the worker, so no child pays for it again.
            import_torchvision()
            settle()
            spare = self.fresh_spare()
        return spare


def import_torchvision() -> None:
    """torchvision, and what its datasets import on first use: imported by a run, that would
    end the run's child (see fingerprint), and its file's next runs would need another."""
    from gradquiz.lab.tvcompat import import_torchvision as import_it

    import_it()
    import PIL.ImageFile  # noqa: F401


@contextlib.contextmanager
def _sigterm_held() -> Iterator[None]:
    """SIGTERM waits until the block is done: a sweep cut short would leave processes."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def settle() -> None:
    """Make the worker cheap to fork: every page it maps is a page each fork copies.

    A frozen heap keeps the collector in a child from touching (so copying) every page of
    it; trimming hands the allocator's free pages back before they are mapped twice; what
    is left goes into huge pages (see hugepages). What the children start from is what their
    runs are compared with (see fingerprint).
    """
    # Here, not at the top: the worker imports this module before torch, which fingerprint
    # imports, and starts its enclosure first.
    from gradquiz.lab import fingerprint

    fingerprint.remember()
    gc.freeze()
    trim_heap()
    hugepages.collapse()


def trim_heap() -> None:
    """Hand the allocator's free pages back to the kernel: the worker's malloc keeps what is
    freed (see client.MALLOC_TUNABLES), and each fork would copy it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
