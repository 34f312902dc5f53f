"""What crosses the pipe between gradquiz and its worker: requests, traces and frames.

Plain data only, so both sides (the app without torch, the worker with it) share one module.
A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from gradquiz.format.model import Code, Question, Variant

MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def uses_torchvision(self) -> bool:
        return any("torchvision" in s.source for s in (self.code, *self.setup))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantRequest:
        watch = data["watch"]
        return cls(
            question=data["question"],
            variant=data["variant"],
            code=Snippet(**data["code"]),
            setup=tuple(Snippet(**s) for s in data["setup"]),
            seed=data["seed"],
            steps=data["steps"],
            watch=None if watch is None else tuple((k, Snippet(**v)) for k, v in watch),
            verify=Snippet(**data["verify"]) if data["verify"] else None,
            answer=Snippet(**data["answer"]) if data["answer"] else None,
            limits=Limits(**data["limits"]),
        )


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
class Row:
    step: int
    values: dict[str, Any]


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantResult:
        return cls(
            question=data["question"],
            variant=data["variant"],
            columns=list(data["columns"]),
            rows=[Row(**r) for r in data["rows"]],
            error=RunError(**data["error"]) if data["error"] else None,
            output=data["output"],
            verify=Outcome(**data["verify"]) if data["verify"] else None,
            answer=Outcome(**data["answer"]) if data["answer"] else None,
            seconds=data["seconds"],
        )


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
            Variant("yours", question.arrangement(arrangement)),
        ]
    limits = replace(limits or Limits(), timeout=experiment.timeout)
    verify = question.verify.expr if question.verify else None
    numeric = question.answer if question.type == "numeric" else None
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
            )
        )
    return requests


class FrameError(Exception):
    """The other side closed the pipe or sent something that is not a frame."""


def field_of(data: Any, name: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    """`data[name]`, checked to be a `kind` (or None if `optional`): frames from a child are
    written by code that can write anything into its pipe."""
    if not isinstance(data, dict) or name not in data:
        raise FrameError(f"a frame without {name!r}")
    value = data[name]
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
        raise FrameError(f"a frame whose {name!r} is {type(value).__name__}")
    return value


def decode_error(data: Any) -> RunError | None:
    if data is None:
        return None
    return RunError(
        field_of(data, "type", str),
        field_of(data, "message", str),
        field_of(data, "step", int, optional=True),
        field_of(data, "line", int, optional=True),
    )


def decode_outcome(data: Any) -> Outcome | None:
    if data is None:
        return None
    field_of(data, "value", object, optional=True)
    return Outcome(data["value"], field_of(data, "error", str, optional=True))


def decode_row(data: Any) -> Row:
    values = field_of(data, "values", dict)
    if not all(isinstance(label, str) for label in values):
        raise FrameError("a row whose labels are not all text")
    return Row(field_of(data, "step", int), values)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    payload = json.dumps(message).encode()
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
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


def read_frame(fd: int) -> dict[str, Any]:
    (size,) = _HEADER.unpack(read_exactly(fd, _HEADER.size))
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
    return _decode(read_exactly(fd, size))


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        message = json.loads(payload)
    except ValueError as exc:
        raise FrameError(f"a frame that is not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise FrameError("a frame that is not a JSON object")
    return message


class FrameReader:
    """Splits bytes arriving in any pieces into frames (for readers that must not block)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
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
            frames.append(_decode(payload))
        return frames

    @property
    def pending(self) -> bool:
        """Bytes of a frame that has not arrived whole."""
        return bool(self._buffer)
