"""What a run can change in its process that the next run there would see.

The runs from one question file share a forked child when they can (see sandbox): the fork
and the page faults after it cost several times what a short run does. Sharing must not change any
result, so the child takes a fingerprint of the state a run can change before its first run
and after each, and a run that changed anything (or printed anything, or left a file, a
thread or a process) ends the child: the next run gets a fresh one. Random state needs no
probe: every run seeds it again.

The probes catch what a question's code does in plain Python, by accident or not
(`torch.set_grad_enabled(False)` at module level, a monkeypatched `torch.Tensor.backward`, a
file left behind). Code bent on hiding a change from them can only mislead the other runs of
its own file, which the same author writes and which are trusted (or not) together: a child is
never shared across files.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.modules.module
from torch import autograd, nn, optim
from torch.nn import functional, init

Fingerprint = dict[str, object]
# A denormal float32: torch.set_flush_denormal(True), which has no getter, turns it into 0.
_DENORMAL = 1e-40
_LIMITS = [getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")]


def _namespaces() -> list[Mapping[str, Any]]:
    """The modules and classes a question's code reaches, whose attributes it may replace:
    the names it is given (torch, nn, F, optim) and every class those two modules hold."""
    modules: list[ModuleType] = [torch, nn, functional, optim, autograd, init]
    modules += [sys.modules["builtins"], sys.modules["math"], sys.modules["random"]]
    classes = [torch.Tensor, autograd.Function]
    classes += [v for m in (nn, optim) for v in vars(m).values() if isinstance(v, type)]
    found: dict[int, Mapping[str, Any]] = {id(m): m.__dict__ for m in modules}
    for cls in classes:
        for base in cls.__mro__:
            if base is not object:
                found.setdefault(id(base), base.__dict__)
    return list(found.values())


_NAMESPACES = _namespaces()


def _attributes() -> tuple[tuple[int, ...], ...]:
    # Identities, not values: cheap, and a replaced function is a new object.
    return tuple(tuple(map(id, namespace.values())) for namespace in _NAMESPACES)


def _global_hooks() -> tuple[tuple[int, ...], ...]:
    """Every hook registered for all modules (`nn.modules.module.register_module_*_hook`)."""
    module = torch.nn.modules.module
    hooks = [v for k, v in vars(module).items() if k.startswith("_global_")]
    return tuple(tuple(map(id, h.values())) for h in hooks if isinstance(h, dict))


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _has_children() -> bool:
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _count(directory: str) -> int:
    return sum(1 for _ in os.scandir(directory))


def _files(directory: str) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((e.name, e.stat().st_size) for e in os.scandir(directory)))


PROBES: dict[str, Callable[[str], object]] = {
    "grad mode": lambda _: (torch.is_grad_enabled(), torch.is_inference_mode_enabled()),
    "default dtype": lambda _: torch.get_default_dtype(),
    "default device": lambda _: str(torch.get_default_device()),
    "threads": lambda _: (torch.get_num_threads(), torch.get_num_interop_threads()),
    "anomaly mode": lambda _: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
    "deterministic algorithms": lambda _: (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    ),
    "matmul precision": lambda _: torch.get_float32_matmul_precision(),
    "autocast": lambda _: (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")),
    "denormals": lambda _: (torch.tensor([_DENORMAL], dtype=torch.float32) * 1).item(),
    "print options": lambda _: tuple(torch._tensor_str.get_printoptions().items()),
    "modes": lambda _: (
        torch._C._len_torch_function_stack(),
        torch._C._len_torch_dispatch_stack(),
        torch._C._autograd._top_saved_tensors_default_hooks(False),
        torch._C._get_mkldnn_enabled(),
    ),
    "global hooks": lambda _: _global_hooks(),
    "torch attributes": lambda _: _attributes(),
    "imported modules": lambda _: tuple(sys.modules),
    "python settings": lambda _: (
        sys.gettrace(),
        sys.getprofile(),
        sys.getrecursionlimit(),
        sys.getswitchinterval(),
        tuple(sys.path),
        tuple(warnings.filters),
        gc.isenabled(),
        gc.get_threshold(),
        (id(sys.stdout), id(sys.stderr), id(sys.stdin), id(sys.displayhook), id(sys.excepthook)),
    ),
    "environment": lambda _: (str(Path.cwd()), tuple(sorted(os.environ.items())), _umask()),
    "signals": lambda _: (
        tuple(signal.getsignal(s) for s in signal.valid_signals()),
        signal.getitimer(signal.ITIMER_REAL),
    ),
    "resource limits": lambda _: tuple(resource.getrlimit(limit) for limit in _LIMITS),
    "threads and processes": lambda _: (_count("/proc/self/task"), _has_children()),
    "open files": lambda _: _count("/proc/self/fd"),
    "files and output": _files,
}


def take(directory: str) -> Fingerprint:
    """The state probed now; `directory`: the run's working directory (its files, and the
    output file, whose size says whether the run printed)."""
    return {name: probe(directory) for name, probe in PROBES.items()}


def changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """The names of the probes whose state differs."""
    return [name for name in PROBES if before.get(name) != after.get(name)]
