"""Field kinds of format v1: each reads a located YAML node and describes itself as JSON Schema.

One table serves both the loader and `gradquiz schema`, so the two cannot drift apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gradquiz.format.model import QUESTION_TYPES, Code, Text
from gradquiz.format.problems import Location, ProblemError
from gradquiz.format.yamlsafe import Mapping, Node, Scalar, Sequence

T = TypeVar("T")
JSON = dict[str, Any]

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
CHOICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def _describe(node: Node) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        said = str(value).lower()
        if node.text.lower() != said:
            return f"the boolean {said} (YAML reads {node.text} as {said}; quote it: '{node.text}')"
        return f"the boolean {said}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the string {value!r}" if len(value) < 40 else "a string"


def expected(node: Node, what: str) -> ProblemError:
    return ProblemError(node.location, f"expected {what}, got {_describe(node)}")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How to read one field: `read` turns a node into a value; `schema` is its JSON Schema."""

    read: Callable[[Node], T]
    schema: JSON


def _string(node: Node) -> str:
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        raise expected(node, "a string")
    return node.value


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _string(node) if isinstance(node, Scalar) and isinstance(node.value, str) else None
        if value is None or not regex.match(value):
            raise expected(node, what)
        return value

    return read


def _number(low: float, high: float, integer: bool) -> Callable[[Node], float]:
    what = "an integer" if integer else "a number"

    def read(node: Node) -> float:
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise expected(node, what)
        if integer and not isinstance(value, int):
            raise expected(node, what)
        if not math.isfinite(value) or not low <= value <= high:
            raise ProblemError(node.location, f"must be between {low:g} and {high:g}, got {value}")
        return value

    return read


def _boolean(node: Node) -> bool:
    if not isinstance(node, Scalar) or not isinstance(node.value, bool):
        raise expected(node, "true or false")
    return node.value


def _text(node: Node) -> Text:
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return Text({"en": node.value})
    if not isinstance(node, Mapping) or not node.items:
        raise expected(node, "text (a string, or a mapping from language code to string)")
    by_language = {}
    for key, value in node:
        if not isinstance(key.value, str) or not LANGUAGE.match(key.value):
            raise ProblemError(key.location, f"{key.value!r} is not a language code like en or zh")
        by_language[key.value] = _string(value)
    return Text(by_language)


def code_kind(mode: str) -> Callable[[Node], Code]:
    """Python source, compiled now so a syntax error is reported at its line in the file."""

    def read(node: Node) -> Code:
        source = _string(node)
        assert isinstance(node, Scalar) and node.content_origin is not None
        origin = node.content_origin
        try:
            compile(source, origin.file, mode, dont_inherit=True)
        except SyntaxError as exc:
            line = origin.line + (exc.lineno or 1) - 1
            column = (exc.offset or 1) + (origin.column - 1)
            raise ProblemError(
                Location(origin.file, line, column), f"Python syntax error: {exc.msg}"
            ) from None
        except ValueError as exc:  # null bytes in the source
            raise ProblemError(origin, f"Python source is not valid: {exc}") from None
        return Code(source, origin)

    return read


def list_of(kind: Kind[T], min_items: int = 0) -> Kind[tuple[T, ...]]:
    def read(node: Node) -> tuple[T, ...]:
        if not isinstance(node, Sequence):
            raise expected(node, "a list")
        if len(node.items) < min_items:
            raise ProblemError(node.location, f"needs at least {min_items} item(s)")
        items: list[T] = []
        problems: list[ProblemError] = []
        for item in node.items:
            try:
                items.append(kind.read(item))
            except ProblemError as exc:
                problems.append(exc)
        if problems:
            raise ProblemGroup(problems)
        return tuple(items)

    return Kind(read, {"type": "array", "items": kind.schema, "minItems": min_items})


TEXT_SCHEMA: JSON = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": LANGUAGE.pattern},
            "additionalProperties": {"type": "string"},
        },
    ]
}

STRING = Kind(_string, {"type": "string"})
SLUG_KIND = Kind(
    _pattern(SLUG, "a slug (lowercase letters, digits and -)"),
    {"type": "string", "pattern": SLUG.pattern},
)


def _choice_id(node: Node) -> str:
    value = node.value if isinstance(node, Scalar) else None
    # `id: 1` is as good a label as `id: A`; `yes` (read as true) is not.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CHOICE_ID.match(value):
        raise expected(node, "a short choice id (letters, digits, - or _)")
    return value


CHOICE_ID_KIND = Kind(_choice_id, {"type": ["string", "integer"], "pattern": CHOICE_ID.pattern})
TEXT = Kind(_text, TEXT_SCHEMA)
BOOLEAN = Kind(_boolean, {"type": "boolean"})
PYTHON = Kind(code_kind("exec"), {"type": "string", "description": "Python statements"})
PYTHON_EXPR = Kind(code_kind("eval"), {"type": "string", "description": "a Python expression"})


def integer(low: int, high: int) -> Kind[int]:
    read = _number(low, high, integer=True)
    return Kind(lambda node: int(read(node)), {"type": "integer", "minimum": low, "maximum": high})


def number(low: float, high: float) -> Kind[float]:
    read = _number(low, high, integer=False)
    return Kind(lambda node: float(read(node)), {"type": "number", "minimum": low, "maximum": high})


def _watch(node: Node) -> tuple[tuple[str, Code], ...]:
    if not isinstance(node, Mapping) or not node.items:
        raise expected(node, "a mapping from column label to Python expression")
    return tuple((str(key.value), PYTHON_EXPR.read(value)) for key, value in node)


WATCH = Kind(
    _watch,
    {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
)


@dataclass(frozen=True)
class Field:
    kind: Kind[Any]
    required: bool = False
    description: str = ""


Fields = dict[str, Field]


def read_fields(
    node: Node, fields: Fields, what: str, problems: list[ProblemError]
) -> tuple[dict[str, Any], dict[str, Location]]:
    """Read a mapping against `fields`, collecting every problem instead of stopping."""
    if not isinstance(node, Mapping):
        raise expected(node, what)
    values: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    for key, value in node:
        name = str(key.value)
        locations[name] = key.location
        spec = fields.get(name)
        if spec is None:
            known = ", ".join(fields)
            problems.append(ProblemError(key.location, f"unknown key {name!r} in {what} ({known})"))
            continue
        try:
            values[name] = spec.kind.read(value)
        except ProblemError as exc:
            problems.append(exc)
    for name, spec in fields.items():
        if spec.required and name not in locations:
            problems.append(ProblemError(node.location, f"{what} is missing {name!r}"))
    return values, locations


def object_schema(fields: Fields) -> JSON:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, spec in fields.items() if spec.required],
        "properties": {
            name: {**spec.kind.schema, "description": spec.description}
            if spec.description
            else spec.kind.schema
            for name, spec in fields.items()
        },
    }


def nested(fields: Fields, what: str) -> Kind[dict[str, Any]]:
    """A mapping field whose own keys are read strictly; problems inside are raised together."""

    def read(node: Node) -> dict[str, Any]:
        problems: list[ProblemError] = []
        values, _ = read_fields(node, fields, what, problems)
        if problems:
            raise ProblemGroup(problems)
        return values

    return Kind(read, object_schema(fields))


class ProblemGroup(ProblemError):
    """Several problems found inside one field."""

    def __init__(self, problems: list[ProblemError]) -> None:
        super().__init__(problems[0].problem.location, problems[0].problem.message)
        self.problems = problems


CHOICE_FIELDS: Fields = {
    "id": Field(CHOICE_ID_KIND, required=True, description="short label shown to the learner"),
    "text": Field(TEXT, required=True),
    "code": Field(PYTHON, description="this choice's step code (makes the choice a variant)"),
    "setup": Field(PYTHON, description="run after the experiment's setup, for this variant"),
    "feedback": Field(TEXT, description="shown when the learner picks this choice"),
}

EXPERIMENT_FIELDS: Fields = {
    "seed": Field(integer(0, 2**32 - 1)),
    "setup": Field(PYTHON, description="run once per variant, in a fresh namespace"),
    "code": Field(PYTHON, description="the step code when choices carry none"),
    "steps": Field(integer(1, 1000)),
    "watch": Field(WATCH, description="column label -> Python expression"),
    "timeout": Field(number(0.1, 120)),
    "tolerance": Field(number(0, 1e9)),
}

NUMERIC_FIELDS: Fields = {
    "expr": Field(PYTHON_EXPR, required=True),
    "tolerance": Field(number(0, 1e300)),
    "value": Field(number(-1e300, 1e300)),
}

VERIFY_FIELDS: Fields = {
    "same_as": Field(CHOICE_ID_KIND),
    "expr": Field(PYTHON_EXPR),
}

QUESTION_FIELDS: Fields = {
    "id": Field(SLUG_KIND, required=True),
    "type": Field(
        Kind(
            _pattern(
                re.compile("^(" + "|".join(QUESTION_TYPES) + ")$"), " or ".join(QUESTION_TYPES)
            ),
            {"enum": list(QUESTION_TYPES)},
        ),
        required=True,
    ),
    "title": Field(TEXT, required=True),
    "prompt": Field(TEXT, required=True),
    "topic": Field(SLUG_KIND, required=True),
    "tags": Field(list_of(STRING)),
    "difficulty": Field(integer(1, 3)),
    "hints": Field(list_of(TEXT)),
    "explanation": Field(TEXT),
    "references": Field(list_of(STRING)),
    "experiment": Field(nested(EXPERIMENT_FIELDS, "experiment")),
    "choices": Field(list_of(nested(CHOICE_FIELDS, "choice"), min_items=1)),
    # The answer's shape depends on `type`; the loader checks it once the type is known.
    "answer": Field(
        Kind(
            lambda node: node,
            {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "boolean"},
                    object_schema(NUMERIC_FIELDS),
                ]
            },
        )
    ),
    "verify": Field(nested(VERIFY_FIELDS, "verify")),
    "lines": Field(list_of(STRING, min_items=1)),
    "distractors": Field(list_of(STRING)),
}

PACK_FIELDS: Fields = {
    "title": Field(TEXT),
    "description": Field(TEXT),
    "authors": Field(list_of(STRING)),
}

FILE_FIELDS: Fields = {
    "pack": Field(nested(PACK_FIELDS, "pack")),
    # Questions are read one by one so each problem stays with its own question.
    "questions": Field(Kind(lambda node: node, {"type": "array"}), required=True),
}


def json_schema() -> JSON:
    """JSON Schema (draft 2020-12) of a format v1 question file."""
    question = object_schema(QUESTION_FIELDS)
    question["allOf"] = [
        {
            "if": {"properties": {"type": {"enum": ["single", "multiple"]}}},
            "then": {"required": ["choices", "answer"]},
        },
        {
            "if": {"properties": {"type": {"const": "truefalse"}}},
            "then": {"required": ["answer"], "properties": {"answer": {"type": "boolean"}}},
        },
        {
            "if": {"properties": {"type": {"const": "numeric"}}},
            "then": {
                "required": ["answer", "experiment"],
                "properties": {"answer": object_schema(NUMERIC_FIELDS)},
            },
        },
        {
            "if": {"properties": {"type": {"const": "order"}}},
            "then": {"required": ["lines", "experiment"], "not": {"required": ["answer"]}},
        },
    ]
    pack_file = object_schema(FILE_FIELDS)
    pack_file["properties"]["questions"] = {"type": "array", "items": {"$ref": "#/$defs/question"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gradquiz.dev/schema/format-v1.json",
        "title": "gradquiz question file, format v1",
        "$defs": {"question": question},
        "oneOf": [pack_file, {"$ref": "#/$defs/question"}],
    }
