"""Field kinds of format v1: each reads a located YAML node and describes itself as JSON Schema.

One table serves both the loader and `gradquiz schema`, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from gradquiz.format.model import (
    DEFAULT_ERRORS,
    QUESTION_TYPES,
    Blank,
    Code,
    Param,
    ParamValue,
    QuestionType,
    Text,
)
from gradquiz.format.problems import Location, ProblemError
from gradquiz.format.yamlsafe import Mapping, Node, Scalar, Sequence
from gradquiz.i18n import N_, _

T = TypeVar("T")
JSON = dict[str, Any]

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
CHOICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def _describe(node: Node) -> str:
    if isinstance(node, Mapping):
        return _("a mapping")
    if isinstance(node, Sequence):
        return _("a list")
    value = node.value
    if value is None:
        return _("nothing (null)")
    if isinstance(value, bool):
        said = str(value).lower()
        if node.text.lower() != said:
            message = _("the boolean {said} (YAML reads {text} as {said}; quote it: '{text}')")
            return message.format(said=said, text=node.text)
        return _("the boolean {said}").format(said=said)
    if isinstance(value, int | float):
        return _("the number {value}").format(value=value)
    return _("the string {value}").format(value=repr(value)) if len(value) < 40 else _("a string")


def expected(node: Node, what: str) -> ProblemError:
    """`what` is translated by the caller (the kinds' own words are marked there)."""
    message = _("expected {what}, got {got}").format(what=what, got=_describe(node))
    return ProblemError(node.location, message)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How to read one field: `read` turns a node into a value; `schema` is its JSON Schema."""

    read: Callable[[Node], T]
    schema: JSON


def _string(node: Node) -> str:
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        raise expected(node, _("a string"))
    return node.value


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Node], str]:
    def read(node: Node) -> str:
        value = _string(node) if isinstance(node, Scalar) and isinstance(node.value, str) else None
        if value is None or not regex.fullmatch(value):
            raise expected(node, _(what))
        return value

    return read


def _number(low: float, high: float, integer: bool) -> Callable[[Node], float]:
    what = _("an integer") if integer else _("a number")

    def read(node: Node) -> float:
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise expected(node, what)
        if integer and not isinstance(value, int):
            raise expected(node, what)
        if not math.isfinite(value) or not low <= value <= high:
            message = _("must be between {low:g} and {high:g}, got {value}")
            raise ProblemError(node.location, message.format(low=low, high=high, value=value))
        return value

    return read


def _boolean(node: Node) -> bool:
    if not isinstance(node, Scalar) or not isinstance(node.value, bool):
        raise expected(node, _("true or false"))
    return node.value


def _text(node: Node) -> Text:
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return Text({"en": node.value})
    if not isinstance(node, Mapping) or not node.items:
        raise expected(node, _("text (a string, or a mapping from language code to string)"))
    by_language = {}
    for key, value in node:
        if not isinstance(key.value, str) or not LANGUAGE.fullmatch(key.value):
            message = _("{code} is not a language code like en or zh")
            raise ProblemError(key.location, message.format(code=repr(key.value)))
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
                Location(origin.file, line, column),
                _("Python syntax error: {error}").format(error=exc.msg),
            ) from None
        except ValueError as exc:  # null bytes in the source
            message = _("Python source is not valid: {error}").format(error=exc)
            raise ProblemError(origin, message) from None
        except (RecursionError, MemoryError):
            # A 3,000-term expression exhausts the compiler's recursion limit.
            raise ProblemError(
                origin, _("Python source is nested too deeply to compile; split it up")
            ) from None
        return Code(source, origin)

    return read


def list_of(kind: Kind[T], min_items: int = 0) -> Kind[tuple[T, ...]]:
    def read(node: Node) -> tuple[T, ...]:
        if not isinstance(node, Sequence):
            raise expected(node, _("a list"))
        if len(node.items) < min_items:
            message = _("needs at least {n} item(s)").format(n=min_items)
            raise ProblemError(node.location, message)
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


# anyOf, not oneOf (the branches exclude each other anyway): yaml-language-server completes a
# key whose schema is a oneOf as the bare word, without `: `, leaving invalid YAML.
TEXT_SCHEMA: JSON = {
    "anyOf": [
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
    _pattern(SLUG, N_("a slug (lowercase letters, digits and -)")),
    {"type": "string", "pattern": SLUG.pattern},
)


def _choice_id(node: Node) -> str:
    value = node.value if isinstance(node, Scalar) else None
    # `id: 1` is as good a label as `id: A`; `yes` (read as true) is not.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CHOICE_ID.fullmatch(value):
        raise expected(node, _("a short choice id (letters, digits, - or _)"))
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
        raise expected(node, _("a mapping from column label to Python expression"))
    return tuple((str(key.value), PYTHON_EXPR.read(value)) for key, value in node)


WATCH = Kind(
    _watch,
    {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
            "type": "string",
            "description": "A Python expression; its value after each step is this column.",
        },
    },
)


# Names every experiment already has, or that verify adds: a parameter must not hide them.
RESERVED_NAMES = frozenset({"torch", "nn", "F", "optim", "record", "step", "trace", "error"})
# A parameter's values, and all draws of a question, stay small enough to check one by one.
MAX_VALUES = 1000
EXCEPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _scalar(node: Node) -> ParamValue:
    value = node.value if isinstance(node, Scalar) else None
    if not isinstance(value, int | float | str | bool):
        raise expected(node, "a number, a string or true/false")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProblemError(node.location, f"a parameter's value must be finite, got {value}")
    return value


def _grid(node: Mapping) -> tuple[ParamValue, ...]:
    """`{range: [a, b], step: s}`: a, a + s, ... up to b (b included when it falls on the grid)."""
    problems: list[ProblemError] = []
    values, _locations = read_fields(node, GRID_FIELDS, "a parameter range", problems)
    if problems:
        raise ProblemGroup(problems)
    low, high = values["range"]
    step = values["step"]
    if len(values["range"]) != 2 or low > high:
        raise ProblemError(node.location, "range needs two numbers [low, high], low <= high")
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise ProblemError(node.location, f"range gives {count} values; at most {MAX_VALUES}")
    # Read as floats; a grid of whole numbers is drawn as ints (`3`, not `3.0`, in a prompt).
    whole = all(float(v).is_integer() for v in (low, high, step))
    # Rounded: 0.1 + 2 * 0.1 is 0.30000000000000004, which a prompt should not show.
    return tuple(int(low + i * step) if whole else round(low + i * step, 10) for i in range(count))


def _params(node: Node) -> tuple[Param, ...]:
    if not isinstance(node, Mapping) or not node.items:
        raise expected(node, "a mapping from name to a list of values or {range, step}")
    params = []
    for key, value in node:
        name = key.value
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ProblemError(key.location, f"parameter {name!r} is not a Python name")
        if name in RESERVED_NAMES:
            raise ProblemError(
                key.location, f"parameter {name!r} would hide the experiment's own {name!r}"
            )
        if isinstance(value, Mapping):
            values = _grid(value)
        elif isinstance(value, Sequence):
            if not 1 <= len(value.items) <= MAX_VALUES:
                raise ProblemError(value.location, f"needs 1 to {MAX_VALUES} values")
            values = tuple(_scalar(item) for item in value.items)
        else:
            raise expected(value, "a list of values or {range: [low, high], step: s}")
        params.append(Param(name, values))
    return tuple(params)


def _blank(node: Node) -> Blank:
    problems: list[ProblemError] = []
    values, _locations = read_fields(node, BLANK_FIELDS, "a blank", problems)
    if problems:
        raise ProblemGroup(problems)
    raises = values.get("raises", False)
    if raises == ("column" in values):
        raise ProblemError(
            node.location, "a blank names a 'column', or is 'raises: true' (the row that errors)"
        )
    if "errors" in values and not raises:
        raise ProblemError(node.location, "'errors' belongs to a 'raises: true' blank")
    return Blank(
        row=values["row"],
        column=values.get("column"),
        raises=raises,
        errors=values.get("errors", DEFAULT_ERRORS),
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
    """Read a mapping against `fields`, collecting every problem instead of stopping. `what`
    names the mapping (marked with `N_` where it is written) in the problems."""
    what = _(what)
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
            message = _("unknown key {key} in {what} ({known})")
            message = message.format(key=repr(name), what=what, known=known)
            problems.append(ProblemError(key.location, message))
            continue
        try:
            values[name] = spec.kind.read(value)
        except ProblemError as exc:
            problems.append(exc)
    for name, spec in fields.items():
        if spec.required and name not in locations:
            message = _("{what} is missing {key}").format(what=what, key=repr(name))
            problems.append(ProblemError(node.location, message))
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
        values, _locations = read_fields(node, fields, what, problems)
        if problems:
            raise ProblemGroup(problems)
        return values

    # The title names it in an editor: hover headings, "Expected ..." and the completion
    # that inserts every required key at once.
    return Kind(read, {"title": what, **object_schema(fields)})


class ProblemGroup(ProblemError):
    """Several problems found inside one field."""

    def __init__(self, problems: list[ProblemError]) -> None:
        super().__init__(problems[0].problem.location, problems[0].problem.message)
        self.problems = problems


# The descriptions are what an editor shows on hover and beside completions (through
# `gradquiz schema` and the shipped question.schema.json), so they say what a key does.
CHOICE_FIELDS: Fields = {
    "id": Field(
        CHOICE_ID_KIND,
        required=True,
        description="Short label shown to the learner: A, B, ... or a slug; the answer names it.",
    ),
    "text": Field(
        TEXT, required=True, description="The choice as the learner reads it (Markdown)."
    ),
    "code": Field(
        PYTHON,
        description="This choice's step code; makes the choice a variant run on its own. "
        "Without it the choice runs experiment.code.",
    ),
    "setup": Field(PYTHON, description="Python run after experiment.setup, for this variant only."),
    "feedback": Field(
        TEXT, description="Shown when the learner picks this choice: why it is right or wrong."
    ),
}

EXPERIMENT_FIELDS: Fields = {
    "seed": Field(
        integer(0, 2**32 - 1),
        description="Seed for torch and random, set before setup (default 0).",
    ),
    "setup": Field(
        PYTHON,
        description="Python run once per variant in a fresh namespace holding torch, nn, F "
        "and optim; names defined here are visible to the step code, watch and verify.",
    ),
    "code": Field(
        PYTHON,
        description="The step code, run `steps` times, when the choices carry no code of "
        "their own. `step` holds the 1-based step number; `record()` takes a row now.",
    ),
    "steps": Field(integer(1, 1000), description="How many times the step code runs (default 1)."),
    "watch": Field(
        WATCH,
        description="The columns of the gradient table: label -> Python expression, "
        "evaluated after each step (or at each record() call). Default: model's parameters "
        "and their .grad, then loss.",
    ),
    "timeout": Field(
        number(0.1, 120), description="Seconds each variant may run (default 10, at most 120)."
    ),
    "tolerance": Field(
        number(0, 1e9),
        description="Absolute tolerance when two traces are compared (default 1e-6).",
    ),
    "graph": Field(
        PYTHON_EXPR,
        description="The tensor whose autograd graph each row of the trace carries, a Python "
        "expression evaluated with the watch (default: loss, when the namespace has one).",
    ),
}

NUMERIC_FIELDS: Fields = {
    "expr": Field(
        PYTHON_EXPR,
        required=True,
        description="Python expression evaluated after the last step of the main run: the "
        "correct number.",
    ),
    "tolerance": Field(
        number(0, 1e300),
        description="Absolute error accepted from the learner (default 1e-3).",
    ),
    "value": Field(
        number(-1e300, 1e300),
        description="The number you expect; gradquiz check compares it with what PyTorch computes.",
    ),
}

VERIFY_FIELDS: Fields = {
    "same_as": Field(
        CHOICE_ID_KIND,
        description="A choice id: the correct choices are exactly those whose trace equals "
        "this choice's trace.",
    ),
    "expr": Field(
        PYTHON_EXPR,
        description="Python expression evaluated after each variant's run, with `trace` and "
        "`error` defined; truthy means the variant's choice is correct (truefalse: the "
        "statement is true).",
    ),
}

GRID_FIELDS: Fields = {
    "range": Field(
        list_of(number(-1e300, 1e300), min_items=2),
        required=True,
        description="[low, high]: the grid's first value and the last it may reach.",
    ),
    "step": Field(number(1e-12, 1e300), required=True, description="The grid's spacing."),
}

PARAM_VALUE_SCHEMA: JSON = {"type": ["number", "string", "boolean"]}
PARAMS = Kind(
    _params,
    {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": PARAM_VALUE_SCHEMA, "minItems": 1},
                {"title": "parameter range", **object_schema(GRID_FIELDS)},
            ]
        },
    },
)

BLANK_FIELDS: Fields = {
    "row": Field(
        integer(1, 100_000),
        required=True,
        description="The row, 1-based as the table shows it (the error's row for raises).",
    ),
    "column": Field(STRING, description="The watch label of the cell the learner fills in."),
    "raises": Field(
        BOOLEAN,
        description="true: the learner says the run raises at this row, and names the error.",
    ),
    "errors": Field(
        list_of(Kind(_pattern(EXCEPTION_NAME, "an exception name"), {"type": "string"}), 1),
        description="raises: the exception names offered to the learner "
        f"(default {', '.join(DEFAULT_ERRORS)}).",
    ),
}
BLANK = Kind(
    _blank,
    {
        "title": "blank",
        **object_schema(BLANK_FIELDS),
        # A cell, or the row that raises: one of the two.
        "anyOf": [
            {"required": ["column"], "not": {"required": ["raises"]}},
            {
                "required": ["raises"],
                "properties": {"raises": {"const": True, "description": "This row raises."}},
                "not": {"required": ["column"]},
            },
        ],
    },
)

TRACE_FIELDS: Fields = {
    "tolerance": Field(
        number(0, 1e300),
        description="Absolute error accepted in each blank (default 1e-3).",
    ),
}
TRACE_ANSWER_SCHEMA: JSON = {"title": "trace answer", **object_schema(TRACE_FIELDS)}

# A title names a schema in an editor: its diagnostics ("Expected ...") and the completion
# that inserts every required key at once.
NUMERIC_ANSWER_SCHEMA: JSON = {"title": "numeric answer", **object_schema(NUMERIC_FIELDS)}

QUESTION_FIELDS: Fields = {
    "id": Field(
        SLUG_KIND,
        required=True,
        description="Unique question id: lowercase letters, digits and -.",
    ),
    "type": Field(
        Kind(
            _pattern(
                re.compile("^(" + "|".join(QUESTION_TYPES) + ")$"), " or ".join(QUESTION_TYPES)
            ),
            {"enum": list(QUESTION_TYPES)},
        ),
        required=True,
        description="single, multiple, truefalse, numeric, order or trace.",
    ),
    "title": Field(TEXT, required=True, description="Short title (Markdown)."),
    "prompt": Field(
        TEXT, required=True, description="The question as the learner reads it (Markdown)."
    ),
    "topic": Field(
        SLUG_KIND, required=True, description="Slug grouping drills, e.g. training-loop."
    ),
    "tags": Field(list_of(STRING), description="Free-form tags."),
    "difficulty": Field(integer(1, 3), description="1, 2 or 3 (default 2)."),
    "hints": Field(list_of(TEXT), description="Hints shown one at a time on request."),
    "explanation": Field(TEXT, description="Shown after answering: why the answer is right."),
    "references": Field(list_of(STRING), description="URLs or citations."),
    "experiment": Field(
        nested(EXPERIMENT_FIELDS, N_("experiment")),
        description="The PyTorch experiment behind the question.",
    ),
    "choices": Field(
        list_of(nested(CHOICE_FIELDS, N_("choice")), min_items=1),
        description="The choices of a single or multiple question.",
    ),
    # The answer's shape depends on `type`; the loader checks it once the type is known.
    "answer": Field(
        Kind(
            lambda node: node,
            {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "boolean"},
                    NUMERIC_ANSWER_SCHEMA,
                    TRACE_ANSWER_SCHEMA,
                ]
            },
        ),
        description="single: a choice id; multiple: a list of choice ids; truefalse: true or "
        "false; numeric: {expr, tolerance, value}; order: none; trace: {tolerance}, optional.",
    ),
    "verify": Field(
        nested(VERIFY_FIELDS, N_("verify")),
        description="How the experiment proves the answer key: {same_as: ID} or {expr: ...}.",
    ),
    "lines": Field(
        list_of(STRING, min_items=1),
        description="order: the step code's lines in one correct order.",
    ),
    "distractors": Field(list_of(STRING), description="order: extra lines that do not belong."),
    "blanks": Field(
        list_of(BLANK, min_items=1),
        description="trace: the cells of the table the learner fills in.",
    ),
    "params": Field(
        PARAMS,
        description="Names drawn per attempt: name -> a list of values, or {range: [low, "
        "high], step: s}. Each is a variable in the experiment; {{name}} in any text shows it.",
    ),
    "shuffle": Field(
        BOOLEAN,
        description="single, multiple: show the choices in a new order each attempt "
        "(default true).",
    ),
}

PACK_FIELDS: Fields = {
    "title": Field(TEXT, description="The pack's title."),
    "description": Field(TEXT, description="What the pack teaches."),
    "authors": Field(list_of(STRING), description="Who wrote it."),
}

FILE_FIELDS: Fields = {
    "pack": Field(nested(PACK_FIELDS, N_("pack")), description="The pack header."),
    # Questions are read one by one so each problem stays with its own question.
    "questions": Field(
        Kind(lambda node: node, {"type": "array"}),
        required=True,
        description="The pack's questions.",
    ),
}


@dataclass(frozen=True)
class TypeRule:
    """What one question type takes. The loader's rules and the schema's per-type conditions
    are both read from `TYPE_RULES`, so a file one accepts the other accepts too."""

    needs: tuple[str, ...]
    # Keys of QUESTION_FIELDS this type does not take.
    refuses: tuple[str, ...]
    # JSON Schema of `answer`; None when the type takes none (graded by running).
    answer: JSON | None
    # The `verify` keys the type takes; none: no `verify` at all.
    verify: tuple[str, ...]

    def refused(self) -> tuple[str, ...]:
        return self.refuses if self.verify else (*self.refuses, "verify")


CHOICE_VERIFY = ("same_as", "expr")
# Keys of one type only: every other type refuses them.
_ORDER_ONLY = ("lines", "distractors")
_NO_CHOICES = ("choices", "shuffle", *_ORDER_ONLY, "blanks")
TYPE_RULES: dict[QuestionType, TypeRule] = {
    "single": TypeRule(
        needs=("choices", "answer"),
        refuses=(*_ORDER_ONLY, "blanks"),
        answer=CHOICE_ID_KIND.schema,
        verify=CHOICE_VERIFY,
    ),
    "multiple": TypeRule(
        needs=("choices", "answer"),
        refuses=(*_ORDER_ONLY, "blanks"),
        answer={"type": "array", "items": CHOICE_ID_KIND.schema, "uniqueItems": True},
        verify=CHOICE_VERIFY,
    ),
    # A statement is true or false: no choices to compare, so only `expr` can prove it.
    "truefalse": TypeRule(
        needs=("answer",),
        refuses=_NO_CHOICES,
        answer={"type": "boolean"},
        verify=("expr",),
    ),
    "numeric": TypeRule(
        needs=("answer", "experiment"),
        refuses=_NO_CHOICES,
        answer=NUMERIC_ANSWER_SCHEMA,
        verify=(),
    ),
    "order": TypeRule(
        needs=("lines", "experiment"),
        refuses=("choices", "shuffle", "answer", "blanks"),
        answer=None,
        verify=(),
    ),
    # The run is the key: each blank's value is what PyTorch computes there.
    "trace": TypeRule(
        needs=("experiment", "blanks"),
        refuses=("choices", "shuffle", *_ORDER_ONLY),
        answer=TRACE_ANSWER_SCHEMA,
        verify=(),
    ),
}


def _type_condition(kind: QuestionType, rule: TypeRule) -> JSON:
    # `answer: false`, not `not: {required: [answer]}`: editors then say "Property answer is
    # not allowed" instead of "Matches a schema that is not allowed".
    properties: JSON = {key: False for key in rule.refused()}
    if rule.answer is not None:
        properties["answer"] = rule.answer
    if rule.verify:
        # One way to prove the key, among those the type takes (maxProperties, not oneOf:
        # see TEXT_SCHEMA).
        properties["verify"] = {
            "propertyNames": {"enum": list(rule.verify)},
            "minProperties": 1,
            "maxProperties": 1,
        }
    return {
        # Each `if` requires `type`: without it an `if` holds vacuously, and an editor would
        # demand every type's keys at once from a question whose type is not written yet.
        "if": {"required": ["type"], "properties": {"type": {"const": kind}}},
        "then": {
            "title": f"{kind} question",
            "required": list(rule.needs),
            "properties": properties,
        },
    }


def json_schema() -> JSON:
    """JSON Schema (draft 2020-12) of a format v1 question file."""
    question = object_schema(QUESTION_FIELDS)
    question["allOf"] = [_type_condition(kind, rule) for kind, rule in TYPE_RULES.items()]
    # verify runs after the experiment: nothing to run, nothing to prove.
    question["dependentRequired"] = {"verify": ["experiment"]}
    pack_file = object_schema(FILE_FIELDS)
    pack_file["properties"]["questions"] = {
        "type": "array",
        "items": {"$ref": "#/$defs/question"},
        "description": FILE_FIELDS["questions"].description,
    }
    question["title"], question["description"] = "question", "One question."
    pack_file["title"] = "pack"
    pack_file["description"] = "A pack: an optional header and a list of questions."
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gradquiz.dev/schema/format-v1.json",
        "title": "gradquiz question file, format v1",
        "$defs": {"question": question},
        "oneOf": [pack_file, {"$ref": "#/$defs/question"}],
    }


# Shipped in the package so an editor's `# yaml-language-server: $schema=` line can name a
# file that exists offline; tests keep it equal to json_schema().
SCHEMA_FILE = Path(__file__).resolve().parent / "question.schema.json"


def schema_text() -> str:
    """json_schema() as written to question.schema.json and printed by `gradquiz schema`."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
