"""Kept results: a run's result stored under everything that decides it, to show at once.

The key is the request itself (the question's code, setup, watch, verify and answer, the
variant, seed, steps and limits), the versions of torch, torchvision and numpy, the threads a
run computes on, the interpreter and the machine's vector instructions (`platform_facts`), and
the source of the code that runs it (runner, sandbox, protocol). Only runs that finished are
kept. No torch here: versions come from the installed packages' metadata, which is what the
worker imports (it runs this interpreter with this process's path).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from gradquiz.lab.protocol import (
    RUN_THREADS,
    UNFINISHED,
    FrameError,
    Result,
    Run,
    VariantRequest,
    VariantResult,
    decode,
    encode,
)

PACKAGES = ("torch", "torchvision", "numpy")
# What else decides a run's last digits: torch picks its kernels by the vector instructions the
# processor has (and these variables override the choice), and the kernels add in other orders.
_CPU_FLAGS = frozenset(
    {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "amx_tile", "asimd", "sve"}
)
_OVERRIDES = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")
# The code whose change can change a result.
_SOURCES = ("runner.py", "graph.py", "sandbox.py", "protocol.py", "tvcompat.py")


@dataclass(frozen=True)
class Kept:
    """A result from the cache, with what it was computed by and when."""

    result: VariantResult
    torch: str
    saved: str

    @property
    def torch_release(self) -> str:
        """The torch version as answers record it: without its build tag (`+cpu`)."""
        return self.torch.split("+")[0]


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:  # noqa: PTH123
            for line in info:
                if line.startswith(("flags", "Features")):
                    return sorted(_CPU_FLAGS.intersection(line.partition(":")[2].split()))
    except OSError:
        pass
    return []


def platform_facts() -> dict[str, object]:
    """The interpreter (3.12 adds floats up another way in `sum`), the processor and its
    vector instructions, and any variable that overrides torch's choice of kernels."""
    return {
        "python": [sys.implementation.name, *sys.version_info[:2]],
        "machine": platform.machine(),
        "cpu": _cpu_flags(),
        "overrides": {name: os.environ[name] for name in _OVERRIDES if name in os.environ},
    }


def _code_digest() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


class ResultCache:
    """Results kept in `directory`, one file per key, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.versions = versions()
        self._salt = json.dumps(
            [self.versions, RUN_THREADS, platform_facts(), _code_digest()], sort_keys=True
        ).encode()

    def key(self, request: VariantRequest) -> str:
        return hashlib.sha256(self._salt + encode(Run(request))).hexdigest()

    def get(self, request: VariantRequest) -> Kept | None:
        """The kept result of `request`, or None (none kept, or unreadable: run it again)."""
        try:
            data = json.loads((self.directory / f"{self.key(request)}.json").read_bytes())
            frame = decode(data["result"].encode())
            torch, saved = str(data["torch"]), str(data["saved"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, FrameError):
            return None
        if not isinstance(frame, Result):
            return None
        return Kept(frame.result, torch, saved)

    def put(self, request: VariantRequest, result: VariantResult) -> None:
        """Keep a result that finished (a timeout or a dead worker says nothing lasting)."""
        if result.error is not None and result.error.type in UNFINISHED:
            return
        entry = {
            "result": encode(Result(result))[4:].decode(),
            "torch": self.versions["torch"],
            "saved": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with contextlib.suppress(OSError):  # a cache that cannot be written is no cache
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entry, out)
            Path(temporary).replace(self.directory / f"{self.key(request)}.json")


def kept_then_fresh(
    cache: ResultCache,
    requests: Sequence[VariantRequest],
    run_all: Callable[[Sequence[VariantRequest]], list[VariantResult]],
    show_kept: Callable[[list[Kept]], None],
) -> list[VariantResult]:
    """What the app answers with: the kept results at once, when every request has one
    (`show_kept`, each saying its torch version and date; a part of a question's runs is not
    enough to draw or grade it), then the fresh runs' results, which are kept for next time.
    Call it off the app's thread: `run_all` blocks."""
    found = [cache.get(request) for request in requests]
    kept = [k for k in found if k is not None]
    if kept and len(kept) == len(found):
        show_kept(kept)
    fresh = run_all(requests)
    for request, result in zip(requests, fresh, strict=True):
        cache.put(request, result)
    return fresh


def same_run(a: VariantResult, b: VariantResult) -> bool:
    """Whether two runs show the same: everything but how long they took (compared encoded,
    so a NaN in a row equals itself)."""
    return encode(Result(replace(a, seconds=0.0))) == encode(Result(replace(b, seconds=0.0)))
