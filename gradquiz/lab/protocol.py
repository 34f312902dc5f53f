"""What crosses the pipes between gradquiz, its worker and the worker's children.

Plain data only, so every side (the app without torch, the worker with it) shares one module.
Every frame is declared once below as a dataclass with a `kind`; `encode` and `decode` are the
only ways to and from bytes, and `decode` checks every field against its declared type, since
a snippet can write anything into the pipe its results come through. A new frame is a new
dataclass in `FRAMES`. On the wire: a 4-byte big-endian length, then UTF-8 JSON of the fields
and `"kind"`.
"""

from __future__ import annotations

import json
import os
import struct
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from typing import Any, ClassVar, Union

from gradquiz.format.model import YOURS, Code, NumericAnswer, Question, Variant
from gradquiz.format.params import drawn_values

MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")

# Errors of the lab, not of the question's code: the run never finished, so its trace (if any)
# says nothing about the question.
TIMEOUT = "Timeout"
WORKER_DIED = "WorkerDied"
BROKEN_RESULT = "BrokenResult"
TRACE_TOO_LARGE = "TraceTooLarge"
MEMORY_LIMIT = "MemoryLimit"
DISK_LIMIT = "DiskLimit"
CLOSED = "Closed"
UNFINISHED = frozenset(
    {TIMEOUT, WORKER_DIED, BROKEN_RESULT, TRACE_TOO_LARGE, MEMORY_LIMIT, DISK_LIMIT, CLOSED}
)
# The intra-op threads every run starts with: one order of adding whatever the number of
# cores, so a run's last digits do not depend on it (nor does its kept result, see cache).
RUN_THREADS = 1


@dataclass(frozen=True)
class Snippet:
    """Code with the place in the question file where its first line sits."""

    source: str
    file: str
    line: int

    @classmethod
    def of(cls, code: Code) -> Snippet:
        return cls(code.source, code.origin.file, code.origin.line)


@dataclass(frozen=True)
class Limits:
    """What one run may use: its own process's memory, and that of all its processes together
    (on top of what they share with the worker), its working directory's files, and the
    processes and threads it may start."""

    timeout: float = 10.0
    memory_mb: int = 2048
    output_chars: int = 64 * 1024
    disk_mb: int = 512
    processes: int = 64


@dataclass(frozen=True)
class VariantRequest:
    question: str
    variant: str
    code: Snippet
    setup: tuple[Snippet, ...] = ()
    seed: int = 0
    steps: int = 1
    watch: tuple[tuple[str, Snippet], ...] | None = None
    verify: Snippet | None = None
    answer: Snippet | None = None
    limits: Limits = field(default_factory=Limits)
    # The question's drawn parameters: names bound in the namespace before setup runs.
    params: tuple[tuple[str, Any], ...] = ()
    # The expression whose autograd graph each row carries; None: `loss`, when there is one.
    graph: Snippet | None = None
    # False leaves the graph out of every row (the bench measures what taking it costs).
    capture_graph: bool = True

    @property
    def trust_unit(self) -> tuple[str, Limits]:
        """What runs that may share a child have in common: the question file (one author,
        trusted or not as a whole) and the caps the child takes before its first run."""
        return self.code.file, replace(self.limits, timeout=0.0)

    @property
    def uses_torchvision(self) -> bool:
        return any("torchvision" in s.source for s in (self.code, *self.setup))


@dataclass(frozen=True)
class RunError:
    type: str
    message: str
    step: int | None
    # The question file's line where it was raised, when it was raised in the question's code.
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class SavedTensor:
    """A tensor an autograd node saved for its backward (`_saved_self` -> `self`)."""

    name: str
    shape: list[int]


# What a leaf's `.grad` did in the step a row was taken in.
GRAD_NONE = "none"
GRAD_CHANGED = "changed"
GRAD_SAME = "same"
# The kind of a node that stands for a whole module of a graph too large to send node by node.
MODULE = "module"


@dataclass(frozen=True)
class GraphNode:
    """One autograd node: its `grad_fn` class name (or MODULE for a summary) and where its
    gradients go: `next` lists the node's inputs in order, each an index into the graph's
    nodes, or None for an input that needs no gradient (a constant, or a cut)."""

    kind: str
    next: list[int | None] = field(default_factory=list)
    # A leaf (`AccumulateGrad`): the variable or parameter it holds, its shape and its .grad.
    name: str | None = None
    shape: list[int] | None = None
    grad: str | None = None
    saved: list[SavedTensor] = field(default_factory=list)
    # Its saved tensors were freed by a backward without retain_graph.
    freed: bool = False
    # A MODULE summary: how many autograd nodes it stands for, by kind.
    inner: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """The autograd graph behind the experiment's graph tensor when a row was taken.

    `nodes[0]` is the tensor's `grad_fn`; no nodes: it has none (made under no_grad,
    detached, or a leaf, which `requires_grad` tells apart). `unreached`: the names of the
    namespace's leaves that require grad and that the graph does not reach.
    """

    expr: str
    requires_grad: bool
    nodes: list[GraphNode] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)
    # Summarised per module: the graph had this many nodes (0: sent node by node).
    summarised: int = 0
    # The graph expression raised, or did not give a tensor.
    error: str | None = None


@dataclass(frozen=True)
class Row:
    step: int
    values: dict[str, Any]
    graph: Graph | None = None
    # The graph is the row before's, sent once: a training loop's steps build alike graphs,
    # and each would cost its encoding and checking twice on the way (VariantResult.graph_at).
    graph_as_before: bool = False


@dataclass(frozen=True)
class Outcome:
    """What an expression evaluated after the run gave: a plain value, or the error it raised."""

    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class VariantResult:
    question: str
    variant: str
    columns: list[str]
    rows: list[Row]
    error: RunError | None = None
    output: str = ""
    verify: Outcome | None = None
    answer: Outcome | None = None
    seconds: float = 0.0
    # The graph when the error was raised: what the failing backward ran into.
    error_graph: Graph | None = None

    def graph_at(self, index: int) -> Graph | None:
        """The graph of the `index`-th row, looked up in the rows before where it was sent once;
        one past the last row is the error's."""
        if index == len(self.rows):
            return self.error_graph
        while 0 <= index < len(self.rows):
            row = self.rows[index]
            if not row.graph_as_before:
                return row.graph
            index -= 1
        return None


def requests_for(
    question: Question, limits: Limits | None = None, arrangement: list[str] | None = None
) -> list[VariantRequest]:
    """The runs behind a question; with `arrangement`, the learner's `order` answer as `yours`."""
    experiment = question.experiment
    if experiment is None:
        return []
    variants = question.variants()
    if arrangement is not None:
        variants = [
            *variants,
            Variant(YOURS, question.arrangement(arrangement)),
        ]
    limits = replace(limits or Limits(), timeout=experiment.timeout)
    verify = question.verify.expr if question.verify else None
    numeric = question.answer if isinstance(question.answer, NumericAnswer) else None
    params = tuple(drawn_values(question).items())
    requests = []
    for variant in variants:
        assert variant.code is not None
        setup = [c for c in (experiment.setup, variant.setup) if c is not None]
        requests.append(
            VariantRequest(
                question=question.id,
                variant=variant.id,
                code=Snippet.of(variant.code),
                setup=tuple(Snippet.of(c) for c in setup),
                seed=experiment.seed,
                steps=experiment.steps,
                watch=None
                if experiment.watch is None
                else tuple((label, Snippet.of(expr)) for label, expr in experiment.watch),
                verify=Snippet.of(verify) if verify else None,
                answer=Snippet.of(numeric.expr)
                if numeric is not None and not isinstance(numeric, str | bool | tuple)
                else None,
                limits=limits,
                params=params,
                graph=None if experiment.graph is None else Snippet.of(experiment.graph),
            )
        )
    return requests


# The frames. gradquiz -> worker: Prepare (first, once), then Run or RunBatch, GetStats.
# Worker -> gradquiz: Ready, a Result per run, Stats. Worker -> a child: Run, again after each
# Done that says the child can run another. A child -> the worker: Step, Columns, TraceRow, Done.


@dataclass(frozen=True)
class Prepare:
    """What the worker imports before its servers fork, once torch is imported: gradquiz
    starts the worker first and says this once it has read the packs."""

    kind: ClassVar[str] = "prepare"
    torchvision: bool


@dataclass(frozen=True)
class Run:
    kind: ClassVar[str] = "run"
    request: VariantRequest


@dataclass(frozen=True)
class RunBatch:
    """Runs from one question file, answered by a Result each, in order: they may share a
    child (see fingerprint)."""

    kind: ClassVar[str] = "run-batch"
    requests: list[VariantRequest]


@dataclass(frozen=True)
class GetStats:
    kind: ClassVar[str] = "get-stats"


@dataclass(frozen=True)
class Ready:
    """The worker has imported torch: its pid (a forked server's is not gradquiz's child)."""

    kind: ClassVar[str] = "ready"
    pid: int
    torch: str


@dataclass(frozen=True)
class Result:
    kind: ClassVar[str] = "result"
    result: VariantResult


@dataclass(frozen=True)
class Stats:
    """Peak resident memory (KiB) of the worker and of the largest variant it forked."""

    kind: ClassVar[str] = "stats"
    peak_rss_kb: int
    children_peak_rss_kb: int


@dataclass(frozen=True)
class Step:
    """A step begins: a run that stops now stopped in this step."""

    kind: ClassVar[str] = "step"
    step: int


@dataclass(frozen=True)
class Columns:
    kind: ClassVar[str] = "columns"
    columns: list[str]


@dataclass(frozen=True)
class TraceRow:
    kind: ClassVar[str] = "row"
    row: Row


@dataclass(frozen=True)
class Done:
    """The run finished: how, and what `verify` and `answer` gave; `reusable`: the run left
    its process as it found it (see fingerprint), so it can run another of the same file."""

    kind: ClassVar[str] = "done"
    error: RunError | None
    verify: Outcome | None
    answer: Outcome | None
    graph: Graph | None = None
    reusable: bool = False


Frame = (
    Prepare | Run | RunBatch | GetStats | Ready | Result | Stats | Step | Columns | TraceRow | Done
)
FRAMES: dict[str, type[Frame]] = {
    frame.kind: frame
    for frame in (
        Prepare,
        Run,
        RunBatch,
        GetStats,
        Ready,
        Result,
        Stats,
        Step,
        Columns,
        TraceRow,
        Done,
    )
}


class FrameError(Exception):
    """The other side closed the pipe or sent something that is not a frame."""


def encode(frame: Frame) -> bytes:
    payload = json.dumps({"kind": frame.kind, **_fields(frame)}, default=_fields).encode()
    return _HEADER.pack(len(payload)) + payload


_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass as the JSON object of its fields (json calls this for each one it meets:
    cheaper than `asdict`, which copies every list of numbers in a trace)."""
    kind = type(value)
    names = _NAMES.get(kind)
    if names is None:
        if not is_dataclass(value) or isinstance(value, type):
            raise TypeError(f"{kind.__name__} cannot be sent in a frame")
        names = _NAMES[kind] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


def decode(payload: bytes) -> Frame:
    """The frame in `payload`, every field checked against its declared type."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise FrameError(f"a frame that is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise FrameError("a frame that is not a JSON object")
    kind = data.pop("kind", None)
    frame = FRAMES.get(kind) if isinstance(kind, str) else None
    if frame is None:
        raise FrameError(f"a frame of no known kind ({kind!r})")
    try:
        built: Frame = _builder(frame)(data)
    except _Wrong as wrong:
        raise FrameError(f"{kind}{wrong.where} {wrong.problem}") from None
    return built


class _Wrong(Exception):
    """A value that is not of its declared type; `where` grows as the error leaves each level."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.where = ""

    def inside(self, step: str) -> _Wrong:
        self.where = step + self.where
        return self


Builder = Callable[[Any], Any]
_BUILDERS: dict[Any, Builder] = {}


def _builder(kind: Any) -> Builder:
    """What turns JSON into the declared type `kind`, or raises _Wrong; made once a type:
    frames come by the thousand, and reading a type's declaration each time cost more than
    the run that sent them."""
    found = _BUILDERS.get(kind)
    if found is None:
        found = _BUILDERS[kind] = _make_builder(kind)
    return found


def _make_builder(kind: Any) -> Builder:
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:
        return lambda value: value
    if isinstance(kind, type) and is_dataclass(kind):
        return _dataclass_builder(kind)
    if origin in (Union, types.UnionType):
        return _union_builder(kind)
    if kind is type(None):

        def null(value: Any) -> None:
            if value is not None:
                raise _Wrong("is not null")

        return null
    if origin in (list, tuple):
        return _sequence_builder(kind, origin)
    if origin is dict:
        return _dict_builder(kind)
    return _plain_builder(kind)


def _dataclass_builder(kind: type) -> Builder:
    # In order, so errors name the first; the fields' builders are made at the first frame,
    # as a dataclass may hold itself.
    names = [f.name for f in fields(kind)]
    known = set(names)
    optional = {name for name in names if _has_default(kind, name)}
    builders: list[tuple[str, Builder]] = []

    def build(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Wrong("is not an object")
        if not builders:
            hints = typing.get_type_hints(kind)
            # Whole at once: the client's threads decode side by side.
            builders[:] = [(name, _builder(hints[name])) for name in names]
        if len(value) > len(names) or not known.issuperset(value):
            raise _Wrong(f"has unknown fields {sorted(set(value) - known)}")
        built = {}
        for name, field_builder in builders:
            if name not in value:
                if name in optional:
                    continue
                raise _Wrong(f"has no {name!r}")
            try:
                built[name] = field_builder(value[name])
            except _Wrong as wrong:
                raise wrong.inside(f".{name}") from None
        return kind(**built)

    return build


def _union_builder(kind: Any) -> Builder:
    options = [_builder(option) for option in typing.get_args(kind)]
    nullable = type(None) in typing.get_args(kind)

    def build(value: Any) -> Any:
        if value is None and nullable:
            return None
        for option in options:
            try:
                return option(value)
            except _Wrong:
                continue
        raise _Wrong(f"is {type(value).__name__}, not {_name(kind)}")

    return build


def _sequence_builder(kind: Any, origin: Any) -> Builder:
    args = typing.get_args(kind)
    if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
        items = [_builder(a) for a in args]

        def fixed(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise _Wrong(f"is {type(value).__name__}, not a list")
            if len(value) != len(items):
                raise _Wrong(f"has {len(value)} items, not {len(items)}")
            built = []
            for i, (item, v) in enumerate(zip(items, value, strict=True)):
                try:
                    built.append(item(v))
                except _Wrong as wrong:
                    raise wrong.inside(f"[{i}]") from None
            return tuple(built)

        return fixed
    item = _builder(args[0])
    as_tuple = origin is tuple

    def many(value: Any) -> Any:
        if not isinstance(value, list):
            raise _Wrong(f"is {type(value).__name__}, not a list")
        built = []
        for i, v in enumerate(value):
            try:
                built.append(item(v))
            except _Wrong as wrong:
                raise wrong.inside(f"[{i}]") from None
        return tuple(built) if as_tuple else built

    return many


def _dict_builder(kind: Any) -> Builder:
    key_kind, item_kind = typing.get_args(kind)
    key, item = _builder(key_kind), _builder(item_kind)

    def build(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise _Wrong(f"is {type(value).__name__}, not an object")
        built = {}
        for k, v in value.items():
            name = key(k)
            try:
                built[name] = item(v)
            except _Wrong as wrong:
                raise wrong.inside(f"[{k!r}]") from None
        return built

    return build


def _plain_builder(kind: Any) -> Builder:
    def build(value: Any) -> Any:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if (
            isinstance(kind, type)
            and isinstance(value, kind)
            and not (isinstance(value, bool) and kind is not bool)
        ):
            return value
        raise _Wrong(f"is {type(value).__name__}, not {_name(kind)}")

    return build


def _has_default(kind: Any, name: str) -> bool:
    spec = next(f for f in fields(kind) if f.name == name)
    return spec.default is not MISSING or spec.default_factory is not MISSING


def _name(kind: Any) -> str:
    if typing.get_origin(kind) in (Union, types.UnionType):
        return " or ".join(_name(option) for option in typing.get_args(kind))
    return "null" if kind is type(None) else getattr(kind, "__name__", str(kind))


def write_frame(fd: int, frame: Frame) -> None:
    view = memoryview(encode(frame))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise FrameError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Frame:
    (size,) = _HEADER.unpack(read_exactly(fd, _HEADER.size))
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
    return decode(read_exactly(fd, size))


class FrameReader:
    """Splits bytes arriving in any pieces into frames (for readers that must not block)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer.extend(data)
        frames = []
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
            if len(self._buffer) < _HEADER.size + size:
                break
            payload = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
            del self._buffer[: _HEADER.size + size]
            frames.append(decode(payload))
        return frames

    @property
    def pending(self) -> bool:
        """Bytes of a frame that has not arrived whole."""
        return bool(self._buffer)
