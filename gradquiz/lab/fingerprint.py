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

import ctypes
import gc
import os
import resource
import signal
import struct
import sys
import tempfile
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
# A denormal double and a one, in names the compiler cannot fold into their product: the
# processor's flags torch sets flush plain float arithmetic too (see _denormals).
_TINY = 1e-310
_ONE = 1.0
_LIMITS = [getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")]
# Listed once: asking for the set each time cost more than reading every handler.
_SIGNALS = sorted(signal.valid_signals())
# Where CPython 3.11-3.13 keep a dict's version tag (PEP 509), which every change to the dict
# renews: after the object header and the item count.
_TAG_OFFSET = 3 * struct.calcsize("P")


def _tag(mapping: Mapping[str, Any]) -> ctypes.c_uint64:
    """A view of the dict's version tag, read without touching the dict or its values."""
    return ctypes.c_uint64.from_address(id(mapping) + _TAG_OFFSET)


def _tags_work() -> bool:
    """Whether this interpreter renews a dict's version tag where `_tag` reads it, and only
    when the dict changes. Replacing a value changes neither the dict's size nor its keys:
    only a version tag moves then. Anywhere else (PyPy, a later CPython), namespaces are
    compared value by value."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 14):
        return False
    probe = {"value": 1}
    tag = _tag(probe)
    before = tag.value
    probe["value"] = 2
    after = tag.value
    other = {"value": 1}
    other["value"] = 2
    return before != after and tag.value == after


class Namespaces:
    """Dicts whose entries a run may add, remove or replace, each compared with what it held
    when the worker last settled before forking (`remember`).

    Comparing every entry means touching every value, and in a forked child that copies each
    page they sit on: thousands of pages, more than a short run costs. So where the
    interpreter keeps version tags (`_tags_work`) only a dict whose tag moved is compared
    entry by entry.
    """

    def __init__(self, mappings: list[Mapping[str, Any]]) -> None:
        self.mappings = mappings
        self.tags = [_tag(m) for m in mappings] if _tags_work() else None
        self.remembered: list[tuple[tuple[str, ...], tuple[int, ...]]] | None = None
        # The tag each dict had when it was last found to hold what was remembered.
        self.checked: list[int] = []

    @staticmethod
    def entries(mapping: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        # Identities, not values: cheap, and a replaced function is a new object.
        return tuple(mapping), tuple(map(id, mapping.values()))

    def remember(self) -> None:
        """Take the dicts' entries as they are now as those a fresh child starts from."""
        self.remembered = [self.entries(m) for m in self.mappings]
        self.checked = [tag.value for tag in self.tags] if self.tags is not None else []

    def changed(self) -> object:
        """The entries of the dicts that differ from what was remembered (of all of them if
        nothing was): a dict that differs already is compared entry by entry, so a change
        made after that still shows."""
        if self.remembered is None:
            return tuple(self.entries(m) for m in self.mappings)
        differ: list[int]
        if self.tags is None:
            differ = list(range(len(self.mappings)))
        else:
            differ = [i for i, tag in enumerate(self.tags) if tag.value != self.checked[i]]
        found = []
        for i in differ:
            entries = self.entries(self.mappings[i])
            if entries != self.remembered[i]:
                found.append((i, entries))
            elif self.tags is not None:
                self.checked[i] = self.tags[i].value  # written, but holding what it held
        return tuple(found)


def _namespaces() -> list[Mapping[str, Any]]:
    """The modules and classes a question's code reaches, whose attributes it may replace:
    the names it is given (torch, nn, F, optim) and every class those two modules hold; and
    the module holding the hooks for all modules (see _global_hooks)."""
    modules: list[ModuleType] = [torch, nn, functional, optim, autograd, init, _HOOKS]
    modules += [sys.modules["builtins"], sys.modules["math"], sys.modules["random"]]
    classes = [torch.Tensor, autograd.Function]
    classes += [v for m in (nn, optim) for v in vars(m).values() if isinstance(v, type)]
    found: dict[int, Mapping[str, Any]] = {id(m): m.__dict__ for m in modules}
    for cls in classes:
        for base in cls.__mro__:
            if base is not object:
                # The dict itself: `__dict__` of a class is a read-only proxy of it.
                (mapping,) = gc.get_referents(base.__dict__)
                found.setdefault(id(base), mapping)
    return list(found.values())


_HOOKS = torch.nn.modules.module
# The dicts holding every hook registered for all modules (`register_module_*_hook`): one
# that a run binds anew is a change to the module's namespace.
_HOOK_DICTS = [
    v for k, v in vars(_HOOKS).items() if k.startswith("_global_") and isinstance(v, dict)
]
_ATTRIBUTES = Namespaces(_namespaces())
_MODULES = Namespaces([sys.modules])


def remember() -> None:
    """The worker's state as every child it forks from now on starts with it (see Namespaces).
    The probes run once first: what they import on first use is then the worker's (in a
    directory of their own: the system's temporary one changes under other programs)."""
    with tempfile.TemporaryDirectory(prefix="gradquiz-probe-") as empty:
        take(empty)
    _ATTRIBUTES.remember()
    _MODULES.remember()


def _global_hooks() -> tuple[tuple[int, ...], ...]:
    """Every hook registered for all modules (`nn.modules.module.register_module_*_hook`)."""
    return tuple(tuple(map(id, hooks.values())) for hooks in _HOOK_DICTS)


def _environment() -> dict[Any, Any]:
    """The environment's variables: as os.environ keeps them where it can (CPython's bytes),
    which copies at C speed; decoding each one cost more than all the other probes."""
    return dict(getattr(os.environ, "_data", os.environ))


def _tensor_flushes(_: str) -> bool:
    return (torch.tensor([_DENORMAL], dtype=torch.float32) * 1).item() == 0


def _float_flushes(_: str) -> bool:
    # A bool, not the product: compared while flushing, a denormal equals 0.
    return _TINY * _ONE == 0


def _denormals() -> Callable[[str], bool]:
    """Whether denormals are flushed: told by plain float arithmetic where that sees torch's
    setting (the processor's flags apply to both), at a tenth of a tensor's cost in a child."""
    flushing = _tensor_flushes("")
    if torch.set_flush_denormal(not flushing):
        sees = _float_flushes("") != flushing
        torch.set_flush_denormal(flushing)
        if sees and _float_flushes("") == flushing:
            return _float_flushes
    return _tensor_flushes


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
    return tuple(sorted((e.name, _size(e)) for e in os.scandir(directory)))


def _size(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_size
    except OSError:  # a dangling link, or a file deleted while the directory was read
        return -1


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
    "denormals": _denormals(),
    "print options": lambda _: tuple(torch._tensor_str.get_printoptions().items()),
    "modes": lambda _: (
        torch._C._len_torch_function_stack(),
        torch._C._len_torch_dispatch_stack(),
        torch._C._autograd._top_saved_tensors_default_hooks(False),
        torch._C._get_mkldnn_enabled(),
    ),
    "global hooks": lambda _: _global_hooks(),
    "torch attributes": lambda _: _ATTRIBUTES.changed(),
    "imported modules": lambda _: (id(sys.modules), _MODULES.changed()),
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
    "environment": lambda _: (str(Path.cwd()), _environment(), _umask()),
    "signals": lambda _: (
        tuple(map(signal.getsignal, _SIGNALS)),
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
