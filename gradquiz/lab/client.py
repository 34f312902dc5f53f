"""gradquiz's side of the worker: start it, send requests, survive anything it does.

`Lab` is a small pool of workers so `check` uses every core; the app uses the same pool.
Nothing here imports torch: the workers do.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from pathlib import Path
from typing import IO

from gradquiz.lab.protocol import (
    CLOSED,
    WORKER_DIED,
    Frame,
    FrameError,
    FrameReader,
    GetStats,
    Prepare,
    Ready,
    Result,
    Run,
    RunBatch,
    RunError,
    Stats,
    VariantRequest,
    VariantResult,
    write_frame,
)

# Time a worker may take to start (importing torch) on a loaded machine, and the slack the
# client allows over a variant's own timeout, which the worker enforces itself.
START_SECONDS = 120.0
SLACK_SECONDS = 15.0
# How long a worker may take to clean up and exit when asked to stop.
STOP_SECONDS = 3.0
# Deaths in a row (no answer between them) after which a worker is not started again: one
# that cannot import torch would otherwise be restarted on every request, for ever.
RESTART_LIMIT = 3
# Runs sent to a worker at once: enough to save most forks, few enough that the workers
# finish together; fewer of those that use torchvision, which take a tenth of a second each.
BATCH_RUNS = 48
TORCHVISION_BATCH_RUNS = 16
# How much of a dead worker's stderr its message quotes.
LAST_WORDS_LINES = 6
LAST_WORDS_BYTES = 4096


class WorkerError(Exception):
    pass


def closed_result(request: VariantRequest) -> VariantResult:
    error = RunError(CLOSED, "the lab was closed before this ran", None)
    return VariantResult(request.question, request.variant, [], [], error)


Pipes = tuple[int, int]  # (to the worker, from the worker)
# The frame a worker answers each request with.
_ANSWERS = {Run.kind: Result.kind, RunBatch.kind: Result.kind, GetStats.kind: Stats.kind}

# The worker runs isolated (-I: no current directory, user site or PYTHON* variables on its
# path) and is handed the path this process imports from, minus anything relative to where
# gradquiz was started: a json.py there, or in a course directory, must never run in it.
_BOOTSTRAP = (
    "import sys, json; sys.path[:] = json.loads(sys.argv.pop(1)); "
    "from gradquiz.lab.worker import main; main()"
)
# Where the worker runs from: a directory nobody can put modules in.
_WORKER_CWD = "/"


def worker_path() -> list[str]:
    """This process's import path without the entries that depend on its current directory."""
    try:
        here = str(Path.cwd())
    except OSError:  # started from a directory that was removed since
        here = None
    path = [p for p in sys.path if Path(p).is_absolute() and p != here]
    # gradquiz itself may come from the current directory (a source checkout): last, so that
    # nothing else there can shadow the standard library or the installed packages.
    root = str(Path(__file__).resolve().parents[2])
    return path if root in path else [*path, root]


# Memory a run frees stays with its child for the next run there instead of going back to
# the kernel, which would fault it in again page by page (a model's weights, run after run).
# What a child takes anew comes in huge pages where the kernel has them (madvised): a child
# faulted in its models' memory 4 KiB at a time, thousands of faults a run.
MALLOC_TUNABLES = (
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=536870912"
    ":glibc.malloc.hugetlb=1"
)


def worker_environment() -> dict[str, str]:
    # Read by glibc as the worker starts; the user's own tunables come after and prevail.
    tunables = [MALLOC_TUNABLES, os.environ.get("GLIBC_TUNABLES", "")]
    return {**os.environ, "GLIBC_TUNABLES": ":".join(t for t in tunables if t)}


def worker_command(arguments: list[str]) -> list[str]:
    return [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(worker_path()), *arguments]


def last_words(stderr: IO[bytes]) -> str:
    """The last lines a worker wrote to its stderr (a traceback's end, usually)."""
    try:
        size = os.fstat(stderr.fileno()).st_size
        data = os.pread(stderr.fileno(), LAST_WORDS_BYTES, max(0, size - LAST_WORDS_BYTES))
    except (OSError, ValueError):
        return ""
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return "\n".join(lines[-LAST_WORDS_LINES:])


def spawn(servers: int) -> tuple[subprocess.Popen[bytes], list[Pipes], IO[bytes]]:
    """Start one worker process that imports torch once and serves `servers` pipe pairs,
    forking a server per extra pair once told what to prepare (`prepare`); and the file its
    stderr goes to."""
    ours: list[Pipes] = []
    theirs: list[int] = []
    for _ in range(servers):
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        ours.append((to_write, from_read))
        theirs += [to_read, from_write]
    pairs = [f"{theirs[i]}:{theirs[i + 1]}" for i in range(0, len(theirs), 2)]
    # Kept, not shown: the terminal is the app's, but a worker that fails says why here.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the workers that share it)
    process = subprocess.Popen(
        worker_command(pairs),
        cwd=_WORKER_CWD,
        env=worker_environment(),
        pass_fds=theirs,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    for fd in theirs:
        os.close(fd)
    return process, ours, stderr


def prepare(pipes: Pipes, torchvision: bool) -> None:
    """Tell a spawned worker (on its first pair) what to import before its servers fork."""
    with contextlib.suppress(OSError):  # a worker that died says so at its first request
        write_frame(pipes[0], Prepare(torchvision))


class Worker:
    """One server in a worker process; restarted on its own whenever it dies or goes quiet.

    `process` is None for a server forked inside another worker process: it is then known
    by the pid it reports when ready.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes] | None = None,
        pipes: Pipes | None = None,
        stderr: IO[bytes] | None = None,
    ) -> None:
        self.torch_version: str | None = None
        self.pid: int | None = None
        # Deaths since the last answer; past RESTART_LIMIT, `dead` says why it stays down.
        self.failures = 0
        self.dead: str | None = None
        self._frames: deque[Frame] = deque()
        # Held while a request is in flight: `stop` from another thread then leaves the pipes
        # to that request, which is still reading them.
        self._busy = threading.Lock()
        self._stopped = False
        if pipes is None or stderr is None:
            self.start()
        else:
            self._attach(process, pipes, stderr)

    def start(self) -> None:
        process, [pipes], stderr = spawn(1)
        # torchvision, should a run need it, is imported then (see server).
        prepare(pipes, torchvision=False)
        self._attach(process, pipes, stderr)

    def _attach(
        self, process: subprocess.Popen[bytes] | None, pipes: Pipes, stderr: IO[bytes]
    ) -> None:
        self.process = process
        self.stderr = stderr
        self.pid = process.pid if process is not None else None
        self._to_worker, self._from_worker = pipes
        self._reader = FrameReader()
        self._frames.clear()
        self.torch_version = None
        self._stopped = False

    def _next(self, seconds: float, silence: str) -> Frame:
        """The next frame, waiting at most `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            if self._frames:
                return self._frames.popleft()
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerError(silence)
            ready, _, _ = select.select([self._from_worker], [], [], left)
            if ready:
                data = os.read(self._from_worker, 1 << 20)
                if not data:
                    raise WorkerError(self._death())
                self._frames.extend(self._reader.feed(data))

    def _death(self) -> str:
        if self.process is None:
            return "the worker closed its pipe"
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the worker closed its pipe"
        if code < 0:
            return f"the worker was killed by {signal.Signals(-code).name}"
        return f"the worker exited with code {code}"

    def wait_ready(self) -> str:
        """Block until torch is imported in the worker; its torch version."""
        if self.torch_version is None:
            match self._next(START_SECONDS, "the worker did not start in time"):
                case Ready(pid, torch):
                    self.torch_version, self.pid = torch, pid
                case other:
                    raise WorkerError(f"the worker sent {other.kind!r} before it was ready")
        return self.torch_version

    def request(self, frame: Run | GetStats, seconds: float) -> Frame:
        """Send `frame`, and the answer within `seconds`; a worker that fails is restarted."""
        answers: list[Frame] = []
        self.exchange(frame, [seconds], answers.append)
        return answers[0]

    def exchange(
        self, frame: Run | RunBatch | GetStats, waits: list[float], hear: Callable[[Frame], None]
    ) -> None:
        """Send `frame` and `hear` its answers, one within each of `waits` seconds; a worker
        that fails is restarted (the answers heard until then stand)."""
        with self._busy:
            if self._stopped:
                raise WorkerError("the lab is closed")
            if self.dead is not None:
                raise WorkerError(self.dead)
            try:
                self.wait_ready()
                write_frame(self._to_worker, frame)
                for seconds in waits:
                    answer = self._next(seconds, "the worker stopped answering")
                    if answer.kind != _ANSWERS[frame.kind]:
                        raise WorkerError(
                            f"the worker answered {frame.kind!r} with {answer.kind!r}"
                        )
                    self.failures = 0
                    hear(answer)
            except (OSError, FrameError, WorkerError) as exc:
                if self._stopped:
                    self._close_pipes()
                    raise WorkerError("the lab is closed") from None
                raise WorkerError(self._restart(str(exc))) from None

    def _restart(self, death: str) -> str:
        """End the dead worker and start another, up to the limit; what to tell the user."""
        self._kill()
        self._close_pipes()
        words = last_words(self.stderr)
        said = f"; its last words:\n{words}" if words else ""
        self.failures += 1
        if self.failures > RESTART_LIMIT:
            self.dead = (
                f"the worker failed {self.failures} times in a row and was not started "
                f"again: {death}{said}"
            )
            return self.dead
        self.start()
        return f"{death}; a new worker was started{said}"

    def run(self, request: VariantRequest) -> VariantResult:
        (result,) = self.run_batch([request])
        return result

    def run_batch(
        self,
        requests: list[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        """The results of runs from one question file, which may share a child (see
        fingerprint); `on_result` hears each as it comes."""
        results: list[VariantResult] = []

        def hear(answer: Frame) -> None:
            assert isinstance(answer, Result)  # exchange() checked the kind
            results.append(answer.result)
            if on_result is not None:
                on_result(answer.result)

        frame = Run(requests[0]) if len(requests) == 1 else RunBatch(requests)
        waits = [request.limits.timeout + SLACK_SECONDS for request in requests]
        try:
            self.exchange(frame, waits, hear)
        except WorkerError as exc:
            for request in requests[len(results) :]:
                if self._stopped:
                    hear(Result(closed_result(request)))
                else:
                    error = RunError(WORKER_DIED, str(exc), None)
                    hear(Result(VariantResult(request.question, request.variant, [], [], error)))
        return results

    def stats(self) -> dict[str, int]:
        """Peak resident memory (KiB) of the worker and of the largest variant it forked."""
        answer = self.request(GetStats(), 30)
        assert isinstance(answer, Stats)
        return {
            "peak_rss_kb": answer.peak_rss_kb,
            "children_peak_rss_kb": answer.children_peak_rss_kb,
        }

    def stop(self) -> None:
        """End the worker for good; safe to call from any thread, during a request too."""
        self.let_go()
        self.wait_gone()

    def let_go(self) -> None:
        """Start ending the worker: an idle one is told by its pipe closing (it cleans up and
        exits at once, no signal to wait for); one in a run is stopped by SIGTERM."""
        self._stopped = True
        if self._busy.acquire(blocking=False):
            self._close_pipes()
            self._busy.release()
        else:
            self._kill()

    def wait_gone(self) -> None:
        """Wait for the worker to have exited, and insist if it has not in STOP_SECONDS."""
        if self.process is not None:
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._kill()
        elif self.pid is not None:
            deadline = time.monotonic() + STOP_SECONDS
            while time.monotonic() < deadline and not _gone(self.pid):
                time.sleep(0.005)
            if not _gone(self.pid):
                self._kill()
        self.pid = None

    def _kill(self) -> None:
        """SIGTERM lets the worker end the experiment it runs; SIGKILL if it does not go."""
        process = self.process
        if process is not None:
            if process.poll() is not None:
                return
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        elif self.pid is not None:
            _end(self.pid)
        self.pid = None

    def _close_pipes(self) -> None:
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._to_worker = self._from_worker = -1


def _end(pid: int) -> None:
    """End a server that is not our child: ask, wait a little, then insist."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline and not _gone(pid):
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its new parent has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # noqa: PTH123
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def in_batches(requests: list[VariantRequest], workers: int) -> list[list[VariantRequest]]:
    """Runs from one question file that come together, BATCH_RUNS at most, go to a worker
    together so that they can share a child (see fingerprint); runs that use torchvision too,
    whose models' memory a shared child maps once instead of once a run. Everything goes
    alone when there is too little to keep every worker busy."""
    batches: list[list[VariantRequest]] = []
    for (_, torchvision), runs in groupby(
        requests, key=lambda r: (r.trust_unit, r.uses_torchvision)
    ):
        run_list = list(runs)
        size = TORCHVISION_BATCH_RUNS if torchvision else BATCH_RUNS
        batches += [run_list[i : i + size] for i in range(0, len(run_list), size)]
    if len(batches) < workers:
        return [[request] for batch in batches for request in batch]
    return batches


class Lab:
    """A pool of workers: `run` takes the next idle one, `run_all` keeps them all busy."""

    def __init__(self, workers: int | None = None, torchvision: bool | None = False) -> None:
        """`torchvision`: import it before the servers fork, for runs known to need it; None:
        not known yet (the workers import torch meanwhile), said later with `prepare`."""
        self.size = max(1, workers or os.cpu_count() or 1)
        # One process imports torch once; the other servers are forked from it.
        process, pipes, stderr = spawn(self.size)
        self._first = pipes[0]
        self._prepared = threading.Lock()
        self._told = False
        self.workers = [Worker(process if i == 0 else None, p, stderr) for i, p in enumerate(pipes)]
        if torchvision is not None:
            self.prepare(torchvision)
        self._idle: queue.Queue[Worker] = queue.Queue()
        for worker in self.workers:
            self._idle.put(worker)
        self._closed = threading.Event()

    def prepare(self, torchvision: bool) -> None:
        """Say what the workers import before their servers fork; only the first word counts
        (a run before any says nothing needs torchvision: the servers import it if a run does)."""
        with self._prepared:
            if not self._told:
                self._told = True
                prepare(self._first, torchvision)

    @property
    def torch_version(self) -> str:
        self.prepare(torchvision=False)
        return self.workers[0].wait_ready()

    def run(self, request: VariantRequest) -> VariantResult:
        (result,) = self.run_batch([request])
        return result

    def run_batch(
        self,
        requests: list[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        """Runs from one question file, on the next idle worker, one after another."""
        self.prepare(torchvision=False)
        if self._closed.is_set():
            results = [closed_result(request) for request in requests]
            for result in results:
                if on_result is not None:
                    on_result(result)
            return results
        worker = self._idle.get()
        try:
            return worker.run_batch(requests, on_result)
        finally:
            self._idle.put(worker)

    def run_all(
        self,
        requests: Iterable[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        """Every request's result, in request order; `on_result` hears each as it finishes
        (runs go to the workers in batches, see `batches`)."""
        batches = in_batches(list(requests), self.size)

        def one(batch: list[VariantRequest]) -> list[VariantResult]:
            return self.run_batch(batch, on_result)

        with ThreadPoolExecutor(self.size, thread_name_prefix="gradquiz-lab") as pool:
            try:
                return [result for results in pool.map(one, batches) for result in results]
            except BaseException:
                # Ctrl-C: without this the pool's shutdown would run every queued request
                # first; closed, the lab answers them at once and ends the runs in flight.
                self.close()
                raise

    def close(self, wait: bool = True) -> None:
        """End the workers; `wait`: until they have exited. Idle ones are told by their pipes
        closing and clean up on their own, so a command about to exit need not wait."""
        if not self._closed.is_set():
            self._closed.set()
            # All told first, then all awaited: they clean up side by side.
            for worker in self.workers:
                worker.let_go()
            if wait:
                for worker in self.workers:
                    worker.wait_gone()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
