"""The app's lab: started lazily off the UI thread, closed for good on exit.

No textual here, and no torch: `Lab` only starts worker processes, which import torch themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported when the lab starts, after the first paint: it brings subprocess and friends.
    from gradquiz.lab.client import Lab
    from gradquiz.lab.protocol import VariantRequest, VariantResult


class SharedLab:
    """One `Lab` for the whole app, started on first use and safe to close from any thread."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers
        self._lab: Lab | None = None
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> Lab | None:
        """The lab, started on first call (it spawns processes: call it off the UI thread)."""
        with self._lock:
            if self._closed:
                return None
            if self._lab is None:
                from gradquiz.lab.client import Lab

                self._lab = Lab(self.workers)
            return self._lab

    def run_all(
        self,
        requests: Sequence[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        """Every request's result in order; after `close`, the remaining ones are not run."""
        lab = self.start()
        if lab is None:
            from gradquiz.lab.client import closed_result

            return [closed_result(request) for request in requests]
        return lab.run_all(requests, on_result)

    @property
    def started(self) -> bool:
        """Whether the lab's workers were started (or it was closed)."""
        return self._lab is not None or self._closed

    @property
    def torch_version(self) -> str | None:
        """The workers' torch version once one has started (None before: never waits)."""
        lab = self._lab
        versions = [w.torch_version for w in lab.workers if w.torch_version] if lab else []
        return versions[0].split("+")[0] if versions else None

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests that check nothing survives)."""
        lab = self._lab
        if lab is None:
            return []
        return [w.pid for w in lab.workers if w.pid is not None]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            lab = self._lab
        if lab is not None:
            lab.close()
