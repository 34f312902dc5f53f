"""The validated question model: what a question file means, free of YAML and of torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gradquiz.format.problems import Location
from gradquiz.i18n import _

QuestionType = Literal["single", "multiple", "truefalse", "numeric", "order", "trace"]
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "single",
    "multiple",
    "truefalse",
    "numeric",
    "order",
    "trace",
)


@dataclass(frozen=True)
class Text:
    """Markdown in one or more languages; the first language is the fallback."""

    by_language: dict[str, str]

    @property
    def languages(self) -> list[str]:
        return list(self.by_language)

    def get(self, language: str | None = None) -> str:
        if language:
            if language in self.by_language:
                return self.by_language[language]
            base = language.split("-")[0].split("_")[0]
            if base in self.by_language:
                return self.by_language[base]
        return next(iter(self.by_language.values()))


@dataclass(frozen=True)
class Code:
    """Python source and where its first line sits in the question file."""

    source: str
    origin: Location


@dataclass(frozen=True)
class Choice:
    id: str
    text: Text
    code: Code | None = None
    setup: Code | None = None
    feedback: Text | None = None


@dataclass(frozen=True)
class Experiment:
    seed: int = 0
    setup: Code | None = None
    code: Code | None = None
    steps: int = 1
    watch: tuple[tuple[str, Code], ...] | None = None
    timeout: float = 10.0
    tolerance: float = 1e-6
    graph: Code | None = None


@dataclass(frozen=True)
class NumericAnswer:
    expr: Code
    tolerance: float = 1e-3
    value: float | None = None


@dataclass(frozen=True)
class TraceAnswer:
    tolerance: float = 1e-3


Answer = str | tuple[str, ...] | bool | NumericAnswer | TraceAnswer | None

# What a learner may name as the error of a `raises` blank when the blank lists none.
DEFAULT_ERRORS = ("RuntimeError", "ValueError", "TypeError", "IndexError")


@dataclass(frozen=True)
class Blank:
    """A cell of a trace question's table the learner fills in; rows are 1-based as shown.

    With `raises`, the blank is the row where the run stops with an error, and the learner
    names the exception among `errors`.
    """

    row: int
    column: str | None = None
    raises: bool = False
    errors: tuple[str, ...] = DEFAULT_ERRORS

    def label(self) -> str:
        if self.raises:
            return _("row {row}, error").format(row=self.row)
        return _("row {row}, {column}").format(row=self.row, column=self.column)


ParamValue = int | float | str | bool


@dataclass(frozen=True)
class Param:
    """A name drawn per attempt: one of `values` is bound to it in the experiment's namespace."""

    name: str
    values: tuple[ParamValue, ...]


@dataclass(frozen=True)
class Draw:
    """One attempt's draw: `number` picks the parameters' values, `seed` the choices' order.

    Stored with the answer, so the history and a re-run show the same numbers and letters.
    """

    number: int = 0
    seed: int = 0

    def to_json(self) -> dict[str, int]:
        """As saved with an answer: `{"draw": K, "seed": S}`."""
        return {"draw": self.number, "seed": self.seed}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> Draw:
        return cls(int(data["draw"]), int(data["seed"]))


@dataclass(frozen=True)
class Verify:
    same_as: str | None = None
    expr: Code | None = None


@dataclass(frozen=True)
class PackInfo:
    file: str
    title: Text | None = None
    description: Text | None = None
    authors: tuple[str, ...] = ()
    # Of the file's bytes as loaded: what trust is recorded against.
    sha256: str = ""

    @property
    def name(self) -> str:
        return self.name_in()

    def name_in(self, language: str | None = None) -> str:
        """The pack's title in `language` (its first language when it has none), else its file."""
        return self.title.get(language) if self.title else self.file


# The ids of the variants that are no choice: a numeric or true/false question's one run, an
# order question's reference arrangement, and the learner's own arrangement.
MAIN = "main"
REFERENCE = "reference"
YOURS = "yours"


@dataclass(frozen=True)
class Variant:
    """One run of the experiment: the code a choice (or the reference) stands for."""

    id: str
    code: Code | None
    setup: Code | None = None


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    title: Text
    prompt: Text
    topic: str
    pack: PackInfo
    location: Location
    tags: tuple[str, ...] = ()
    difficulty: int = 2
    hints: tuple[Text, ...] = ()
    explanation: Text | None = None
    references: tuple[str, ...] = ()
    experiment: Experiment | None = None
    choices: tuple[Choice, ...] = ()
    answer: Answer = None
    verify: Verify | None = None
    lines: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()
    blanks: tuple[Blank, ...] = ()
    params: tuple[Param, ...] = ()
    shuffle: bool = True
    # Set on a question made for one attempt (`gradquiz.format.params.drawn`): the draw, and
    # the question as written, whose content hash the attempt's answer keeps.
    draw: Draw | None = field(default=None, compare=False)
    template: Question | None = field(default=None, compare=False, repr=False)
    # Where each top-level key was written, so checks can point at `answer` or `verify`.
    field_locations: dict[str, Location] = field(default_factory=dict, compare=False)

    @property
    def languages(self) -> list[str]:
        return self.title.languages

    def where(self, key: str) -> Location:
        return self.field_locations.get(key, self.location)

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    @property
    def has_choice_variants(self) -> bool:
        return any(c.code is not None for c in self.choices)

    def variants(self) -> list[Variant]:
        """The runs that show this question's experiment, before the learner answers."""
        if self.experiment is None:
            return []
        if self.type == "order":
            return [Variant(REFERENCE, self.arrangement(self.lines))]
        if self.has_choice_variants:
            return [Variant(c.id, c.code or self.experiment.code, c.setup) for c in self.choices]
        return [Variant(MAIN, self.experiment.code)]

    def arrangement(self, lines: tuple[str, ...] | list[str]) -> Code:
        """An `order` answer as step code, located at the question's `lines`."""
        return Code("\n".join(lines) + "\n", self.where("lines"))

    @property
    def trace_tolerance(self) -> float:
        """The absolute error accepted in each blank of a trace question."""
        return self.answer.tolerance if isinstance(self.answer, TraceAnswer) else 1e-3

    @property
    def original(self) -> Question:
        """The question as written, before any draw filled in its parameters."""
        return self.template or self

    def correct_choices(self) -> set[str]:
        """The choice ids the answer key marks correct (single and multiple)."""
        if isinstance(self.answer, str):
            return {self.answer}
        if isinstance(self.answer, tuple):
            return set(self.answer)
        return set()
