"""gradquiz's side of the worker: start it, send requests, survive anything it does.

`Lab` is a small pool of workers so `check` uses every core; the app uses the same pool.
Nothing here imports torch: the workers do.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gradquiz.lab.protocol import (
    FrameError,
    FrameReader,
    RunError,
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


class WorkerError(Exception):
    pass


def closed_result(request: VariantRequest) -> VariantResult:
    error = RunError("Closed", "the lab was closed before this ran", None)
    return VariantResult(request.question, request.variant, [], [], error)


class Worker:
    """One worker process; restarted whenever it dies or stops answering."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.torch_version: str | None = None
        self._frames: deque[dict[str, Any]] = deque()
        self._to_worker = self._from_worker = -1
        # Held while a request is in flight: `stop` from another thread then leaves the pipes
        # to that request, which is still reading them.
        self._busy = threading.Lock()
        self._stopped = False
        self.start()

    def start(self) -> None:
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gradquiz.lab.worker", str(to_read), str(from_write)],
            pass_fds=(to_read, from_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(to_read)
        os.close(from_write)
        self._to_worker, self._from_worker = to_write, from_read
        self._reader = FrameReader()
        self._frames.clear()
        self.torch_version = None
        self._stopped = False

    def _next(self, key: str, seconds: float, silence: str) -> dict[str, Any]:
        """The next frame holding `key`, waiting at most `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            while self._frames:
                frame = self._frames.popleft()
                if key in frame:
                    return frame
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
        assert self.process is not None
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
            frame = self._next("ready", START_SECONDS, "the worker did not start in time")
            self.torch_version = str(frame["torch"])
        return self.torch_version

    def request(self, message: dict[str, Any], key: str, seconds: float) -> Any:
        with self._busy:
            if self._stopped:
                raise WorkerError("the lab is closed")
            try:
                self.wait_ready()
                write_frame(self._to_worker, message)
                return self._next(key, seconds, "the worker stopped answering")[key]
            except (OSError, FrameError, WorkerError) as exc:
                if self._stopped:
                    self._close_pipes()
                    raise WorkerError("the lab is closed") from None
                self._kill()
                self._close_pipes()
                self.start()
                raise WorkerError(str(exc)) from None

    def run(self, request: VariantRequest) -> VariantResult:
        message = {"op": "run", "request": request.to_json()}
        try:
            data = self.request(message, "result", request.limits.timeout + SLACK_SECONDS)
        except WorkerError as exc:
            if self._stopped:
                return closed_result(request)
            error = RunError("WorkerDied", f"{exc}; a new worker was started", None)
            return VariantResult(request.question, request.variant, [], [], error)
        return VariantResult.from_json(data)

    def stats(self) -> dict[str, int]:
        """Peak resident memory (KiB) of the worker and of the largest variant it forked."""
        return dict(self.request({"op": "stats"}, "stats", 30))

    def stop(self) -> None:
        """End the worker for good; safe to call from any thread, during a request too."""
        self._stopped = True
        self._kill()
        if self._busy.acquire(blocking=False):
            self._close_pipes()
            self._busy.release()

    def _kill(self) -> None:
        """SIGTERM lets the worker end the experiment it runs; SIGKILL if it does not go."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _close_pipes(self) -> None:
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._to_worker = self._from_worker = -1


class Lab:
    """A pool of workers: `run` takes the next idle one, `run_all` keeps them all busy."""

    def __init__(self, workers: int | None = None) -> None:
        self.size = max(1, workers or os.cpu_count() or 1)
        self.workers = [Worker() for _ in range(self.size)]
        self._idle: queue.Queue[Worker] = queue.Queue()
        for worker in self.workers:
            self._idle.put(worker)
        self._closed = threading.Event()

    @property
    def torch_version(self) -> str:
        return self.workers[0].wait_ready()

    def run(self, request: VariantRequest) -> VariantResult:
        if self._closed.is_set():
            return closed_result(request)
        worker = self._idle.get()
        try:
            return worker.run(request)
        finally:
            self._idle.put(worker)

    def run_all(
        self,
        requests: Iterable[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        """Every request's result, in request order; `on_result` hears each as it finishes."""

        def one(request: VariantRequest) -> VariantResult:
            result = self.run(request)
            if on_result is not None:
                on_result(result)
            return result

        with ThreadPoolExecutor(self.size, thread_name_prefix="gradquiz-lab") as pool:
            return list(pool.map(one, requests))

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            for worker in self.workers:
                worker.stop()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
