"""The worker: imports torch once, then runs each variant in a forked child (a fork server).

The child starts from the warm, untouched parent, so a variant costs a fork instead of an
interpreter and a torch import, and nothing it changes (grad mode, dtype, RNG, monkeypatched
modules, open files) can reach the next variant. The parent enforces the limits: it kills the
child's process group at the timeout and reports a child that dies, and stays warm for the next.

Run as `python -m gradquiz.lab.worker IN_FD OUT_FD`; it speaks frames (see protocol) on them.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradquiz.lab import caps, reaper
from gradquiz.lab.protocol import (
    FrameError,
    FrameReader,
    RunError,
    VariantRequest,
    decode_error,
    decode_outcome,
    decode_row,
    field_of,
    read_frame,
    write_frame,
)

OUTPUT_FILE = ".gradquiz-output"
MAX_FILE_BYTES = 256 * 1024 * 1024
# How a child says why it ended without a result: gradquiz's own code failed in it, or the
# snippet took away the pipe its results go through.
EXIT_CRASHED = 70
EXIT_PIPE_LOST = 71
# How often the parent looks whether a child has exited where Linux has no pidfd (< 5.3).
POLL_SECONDS = 0.02
# How often a server counts its user's processes again, for the cap on a run's processes.
TASKS_RECOUNT_SECONDS = 10.0


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
    status: int | None = None

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
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def fork_spare(client_fds: tuple[int, ...], lab: caps.LabDirectory, tasks: int) -> Spare:
    """A child waiting for its request; `tasks`: the processes and threads its user runs,
    which its request's cap on processes comes on top of (RLIMIT_NPROC)."""
    workdir = lab.run_directory()
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
    output_fd = os.open(Path(workdir, OUTPUT_FILE), flags, 0o600)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        # The child must not hold gradquiz's pipes: a process it leaves behind would keep
        # them open and hide the worker's death from gradquiz.
        # Nor the lab directory's lock: releasing it would let another gradquiz remove the
        # directory under a live worker.
        for fd in (*client_fds, request_write, result_read, lab.lock_fd):
            os.close(fd)
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        reaper.die_with_parent()
        if os.getppid() != parent:
            os._exit(0)  # the worker died before we asked
        try:
            request = VariantRequest.from_json(read_frame(request_read))
        except FrameError:
            os._exit(0)  # the worker went away before a request came
        _child(request, result_write, output_fd, workdir, tasks)
    # Both sides set the group, so it exists whichever runs first: a kill before the child
    # got that far must still reach it.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    os.close(request_read)
    os.close(result_write)
    torchvision = "torchvision" in sys.modules
    return Spare(pid, request_write, result_read, workdir, output_fd, torchvision, _pidfd(pid))


def _child(
    request: VariantRequest, result_fd: int, output_fd: int, workdir: str, tasks: int
) -> None:
    """In the forked child: confine, run, report. Never returns."""
    from gradquiz.lab.runner import run_variant

    os.chdir(workdir)
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = None
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    stream = CappedStream(output_fd, request.limits.output_chars)
    sys.stdout = sys.stderr = stream
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    limit = _virtual_memory() + request.limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    processes = tasks + request.limits.processes
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    status = 0
    try:
        done = run_variant(request, lambda message: write_frame(result_fd, message))
        stream.close_note()
        write_frame(result_fd, {"done": done})
    except OSError:
        status = EXIT_PIPE_LOST
    except BaseException:
        status = EXIT_CRASHED
    os._exit(status)


def _describe_death(status: int) -> str:
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


def _read_output(output_fd: int, cap: int) -> str:
    try:
        data = os.pread(output_fd, cap * 4 + 256, 0)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text if len(text) <= cap + 200 else text[:cap] + "\n[output cut]\n"


@dataclass
class Collected:
    """What the parent heard from a child before it finished, died or ran out of time."""

    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    step: int | None = None
    done: dict[str, Any] | None = None
    timed_out: bool = False
    orphaned: bool = False
    broken: str | None = None
    # A cap the run went over, as the error's (type, message).
    over: tuple[str, str] | None = None
    received: int = 0
    reader: FrameReader = field(default_factory=FrameReader)

    def take(self, frame: dict[str, Any]) -> None:
        """Keep a frame, checked: the snippet can write into the pipe it comes through."""
        if "row" in frame:
            row = decode_row(frame["row"])
            self.rows.append({"step": row.step, "values": row.values})
        elif "columns" in frame:
            columns = field_of(frame, "columns", list)
            if not all(isinstance(label, str) for label in columns):
                raise FrameError("columns that are not all text")
            self.columns = columns
        elif "step" in frame:
            self.step = field_of(frame, "step", int)
        elif "done" in frame:
            done = field_of(frame, "done", dict)
            decode_error(field_of(done, "error", dict, optional=True))
            for name in ("verify", "answer"):
                decode_outcome(field_of(done, name, dict, optional=True))
            self.done = done
        else:
            raise FrameError(f"a frame of no known kind ({', '.join(map(repr, frame))})")


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
        collected.over = ("TraceTooLarge", f"the trace is over the {limit} MiB limit; {kept}")
        return False
    for frame in collected.reader.feed(data):
        collected.take(frame)
    return bool(data)


def _over_caps(spare: Spare, budget: caps.Budget) -> tuple[str, str] | None:
    """Whether a run still going has gone over a cap that no rlimit holds across processes."""
    if caps.directory_bytes(spare.workdir, budget.disk) > budget.disk:
        limit = budget.disk // caps.MiB
        return "DiskLimit", f"the experiment wrote more than {limit} MiB of files"
    if caps.tree_memory(reaper.descendants(os.getpid())) > budget.memory + budget.inherited:
        limit = budget.memory // caps.MiB
        return "MemoryLimit", f"the experiment's processes used more than {limit} MiB together"
    return None


def run_on(
    spare: Spare, request: VariantRequest, control_fd: int, inherited: int
) -> dict[str, Any]:
    """Hand the request to a spare child and collect its frames until done or the timeout.

    `inherited`: bytes of memory the child shares with the worker from the start, which the
    run's cap on memory is on top of."""
    started = time.monotonic()
    write_frame(spare.request_fd, request.to_json())
    limits = request.limits
    budget = caps.Budget(limits.memory_mb * caps.MiB, inherited, limits.disk_mb * caps.MiB)
    collected = _collect(spare, control_fd, started + limits.timeout, budget)
    spare.kill()
    if collected.orphaned:
        raise SystemExit(0)  # the server's cleanup discards this child
    output = _read_output(spare.output_fd, request.limits.output_chars)
    done = collected.done
    if done is None:
        status = spare.wait()
        if collected.timed_out:
            message = f"timed out after {request.limits.timeout:g} s"
            error = RunError("Timeout", message, collected.step)
        elif collected.over is not None:
            error = RunError(*collected.over, collected.step)
        else:
            death = collected.broken or _describe_death(status)
            error = RunError("WorkerDied", death, collected.step)
        done = {"error": vars(error), "verify": None, "answer": None}
    return {
        "question": request.question,
        "variant": request.variant,
        "columns": collected.columns,
        "rows": collected.rows,
        "error": done["error"],
        "output": output,
        "verify": done["verify"],
        "answer": done["answer"],
        "seconds": time.monotonic() - started,
    }


def _settle() -> None:
    """Make the worker cheap to fork: every page it maps is a page each fork copies.

    A frozen heap keeps the collector in a child from touching (so copying) every page of
    it; trimming hands the allocator's free pages back before they are mapped twice.
    """
    gc.freeze()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _warm_up() -> None:
    """Run one tiny training step so the first-call costs are paid before any fork.

    One intra-op thread: the parent must not start thread pools that a fork would copy
    half-alive, and tiny experiments gain nothing from more.
    """
    import torch

    torch.set_num_threads(1)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = torch.nn.functional.mse_loss(model(torch.ones(1, 1)), torch.zeros(1, 1))
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    optimizer.zero_grad()


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
        write_frame(self.out_fd, {"ready": os.getpid(), "torch": torch.__version__})
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
                message = read_frame(self.in_fd)
            except FrameError:
                return
            op = message.get("op")
            if op == "run":
                result = self.run(VariantRequest.from_json(message["request"]))
                write_frame(self.out_fd, {"result": result})
                # Reaping, cleaning up and forking the next child overlap gradquiz's work.
                self.fresh_spare()
            elif op == "stats":
                children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                stats = {"peak_rss_kb": peak_memory_kb(), "children_peak_rss_kb": children}
                write_frame(self.out_fd, {"stats": stats})
            else:
                return

    def run(self, request: VariantRequest) -> dict[str, Any]:
        spare = self.spare
        assert spare is not None
        if request.uses_torchvision and not spare.torchvision:
            # Imported once in the worker, so no child pays for it again.
            from gradquiz.lab.tvcompat import import_torchvision

            import_torchvision()
            _settle()
            spare = self.fresh_spare()
        return run_on(spare, request, self.in_fd, self.inherited)


def prepare(torchvision: bool) -> None:
    """Import and warm up once, so that every server and every child forked later has it."""
    import torch  # noqa: F401

    import gradquiz.lab.runner  # noqa: F401

    _warm_up()
    if torchvision:
        from gradquiz.lab.tvcompat import import_torchvision

        import_torchvision()
    _settle()


def clone(pair: tuple[int, int], others: list[tuple[int, int]], lab: caps.LabDirectory) -> None:
    """Fork a server for `pair` that shares this process's imports instead of repeating them.

    Forked twice, so the server belongs to no one here: this process never has to reap it.
    """
    if os.fork() == 0:
        if os.fork() == 0:
            for fd in (fd for other in others for fd in other):
                with contextlib.suppress(OSError):  # those of earlier clones are closed
                    os.close(fd)
            try:
                Server(*pair, lab).serve()
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()
    for fd in pair:
        os.close(fd)


def main() -> None:
    """`python -m gradquiz.lab.worker [--torchvision] IN:OUT [IN:OUT ...]`: one server per pair."""
    arguments = sys.argv[1:]
    torchvision = "--torchvision" in arguments
    pairs = [
        (int(a), int(b))
        for a, b in (argument.split(":") for argument in arguments if ":" in argument)
    ]
    # Keep anything torch prints away from the terminal gradquiz draws on; stderr goes to a
    # file gradquiz reads should the worker die.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    # Ctrl-C in gradquiz's terminal is gradquiz's to handle; SIGTERM is how it stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate)
    lab = caps.LabDirectory()
    prepare(torchvision)
    for index, pair in enumerate(pairs[1:], start=1):
        clone(pair, [p for i, p in enumerate(pairs) if i != index], lab)
    Server(*pairs[0], lab).serve()


@contextlib.contextmanager
def _sigterm_held() -> Iterator[None]:
    """SIGTERM waits until the block is done: a sweep cut short would leave processes."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
