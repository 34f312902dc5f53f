"""What the lab shows of each variant, as data: its heading, the code that ran, one watch column
across every variant, and the width its tables need. Pure: no torch, no screen.

Choice texts, code, watch labels and values come from a pack: these structures hold them as
written; whoever shows them escapes them (`display.one_line`, `display.printable`, Rich `Text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich.cells import cell_len

from gradquiz import display
from gradquiz.difference import (
    Difference,
    differing_cells,
    explain,
    gloss,
    reference_variant,
    variant_name,
)
from gradquiz.format.model import REFERENCE, YOURS, Code, Question
from gradquiz.grading import Response, tolerance_of, values_equal, variant_correct
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import RunError, VariantResult

Results = Mapping[str, VariantResult]

MARKS = {True: "✓", False: "✗", None: ""}


@dataclass(frozen=True)
class Heading:
    """What a variant is: the choice it stands for, right or wrong, and whether it was picked."""

    variant: str
    # The choice's text and feedback in the language asked for (Markdown from the pack).
    text: str | None
    feedback: str | None
    correct: bool | None
    picked: bool
    # The variant the others are compared with.
    reference: bool

    @property
    def mark(self) -> str:
        return MARKS[self.correct]

    def line(self) -> str:
        """The heading on one line, safe for a terminal: `B ✓ zero_grad at the top · your pick`."""
        parts = [display.one_line(variant_name(self.variant))]
        if self.mark:
            parts.append(self.mark)
        if self.text:
            parts.append(display.one_line(self.text.strip()))
        line = " ".join(parts)
        return _("{heading} · your pick").format(heading=line) if self.picked else line


def picked_variants(question: Question, response: Response | None) -> frozenset[str]:
    """The variants a learner's answer stands for: the choices picked, or an order's `yours`."""
    if response is None:
        return frozenset()
    if question.type == "order":
        return frozenset({YOURS})
    if isinstance(response, str):
        return frozenset({response})
    if isinstance(response, frozenset):
        return response
    return frozenset()


def headings(
    question: Question,
    results: Results,
    response: Response | None = None,
    language: str | None = None,
) -> dict[str, Heading]:
    """Each variant's heading, in the order of `results`."""
    picked = picked_variants(question, response)
    reference = reference_variant(question, results)
    found = {}
    for variant in results:
        choice = question.choice(variant)
        order_text = _ORDER_TEXTS.get(variant)
        text = choice.text.get(language) if choice else order_text and _(order_text)
        feedback = choice.feedback.get(language) if choice and choice.feedback else None
        found[variant] = Heading(
            variant=variant,
            text=text,
            feedback=feedback,
            correct=variant_correct(question, variant, results),
            picked=variant in picked,
            reference=variant == reference,
        )
    return found


_ORDER_TEXTS = {REFERENCE: N_("the lines in order"), YOURS: N_("your arrangement")}


def opening_variant(
    question: Question, results: Results, response: Response | None = None
) -> str | None:
    """The variant the lab opens on: the learner's pick, else the right one, else the first."""
    picked = [v for v in results if v in picked_variants(question, response)]
    if picked:
        return picked[0]
    return reference_variant(question, results) or next(iter(results), None)


@dataclass(frozen=True)
class ArrangementRow:
    """One position of an `order` answer: the right line and the learner's, side by side."""

    right: str | None
    yours: str | None
    # A line the learner placed that is not among the question's lines.
    distractor: bool

    @property
    def same(self) -> bool:
        return self.right == self.yours


def arrangement_rows(question: Question, yours: Sequence[str]) -> list[ArrangementRow]:
    """The right arrangement next to the learner's, position by position. An arrangement can
    differ line for line and still behave the same: grading runs it; this only shows it."""
    right = list(question.lines)
    return [
        ArrangementRow(
            right[i] if i < len(right) else None,
            yours[i] if i < len(yours) else None,
            i < len(yours) and yours[i] not in right,
        )
        for i in range(max(len(right), len(yours)))
    ]


@dataclass(frozen=True)
class VariantCode:
    """The code a variant ran, each piece located in its question file."""

    variant: str
    step: Code
    # True when the step code is the choice's own, False when it is the experiment's.
    own_step: bool
    # The variant's extra setup, run after the shared one.
    setup: Code | None
    shared_setup: Code | None
    # None: the default watch (a model's parameters and their gradients, then `loss`).
    watch: tuple[tuple[str, Code], ...] | None
    steps: int
    seed: int


def variant_codes(question: Question, yours: Sequence[str] | None = None) -> dict[str, VariantCode]:
    """The code behind each variant, in the order the variants run; with `yours`, an order
    question's arrangement too."""
    experiment = question.experiment
    if experiment is None:
        return {}
    variants = question.variants()
    codes = {}
    for variant in variants:
        assert variant.code is not None
        choice = question.choice(variant.id)
        codes[variant.id] = VariantCode(
            variant=variant.id,
            step=variant.code,
            own_step=choice is not None and choice.code is not None,
            setup=variant.setup,
            shared_setup=experiment.setup,
            watch=experiment.watch,
            steps=experiment.steps,
            seed=experiment.seed,
        )
    if yours is not None and question.type == "order":
        reference = codes[REFERENCE]
        codes[YOURS] = VariantCode(
            YOURS,
            question.arrangement(tuple(yours)),
            own_step=True,
            setup=None,
            shared_setup=reference.shared_setup,
            watch=reference.watch,
            steps=reference.steps,
            seed=reference.seed,
        )
    return codes


def folded(code: Code, width: int = 60) -> str:
    """Code folded to one line, safe for a terminal: its first line and how many follow."""
    lines = [line for line in code.source.splitlines() if line.strip()]
    if not lines:
        return ""
    first = display.one_line(lines[0].rstrip())
    if len(first) > width:
        first = first[: width - 1] + "…"
    more = len(lines) - 1
    if not more:
        return first
    # Outside the f-string: extraction does not look inside one.
    return display.plural(more, "{first}  … (+{n} line)", "{first}  … (+{n} lines)", first=first)


class SlotKind(StrEnum):
    VALUE = "value"
    MISSING = "missing"
    ERROR = "error"


@dataclass(frozen=True)
class Slot:
    """One variant's cell in a row of a comparison."""

    kind: SlotKind
    value: Any = None
    error: RunError | None = None
    # Differs from the right variant's slot in the same row (never for the right variant).
    differs: bool = False

    @property
    def text(self) -> str:
        """The cell as the tables show it (rounded); escape it before printing."""
        if self.kind is SlotKind.VALUE:
            return display.cell(self.value)
        if self.kind is SlotKind.ERROR and self.error is not None:
            return f"✗ {self.error.type}"
        return ""


@dataclass(frozen=True)
class ComparisonRow:
    step: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Comparison:
    """One watch column across every variant: rows are steps, columns variants, right first."""

    column: str
    variants: tuple[str, ...]
    rows: tuple[ComparisonRow, ...]

    def widths(self, titles: Sequence[str] = (), marker: str = " ≠") -> tuple[int, ...]:
        """Each column's width in terminal cells: `step` first, then one per variant headed by
        its entry in `titles` (default: its id); a differing cell counts with `marker`."""
        header = [_("step"), *(titles or self.variants)]
        body = [
            [str(row.step), *(s.text + (marker if s.differs else "") for s in row.slots)]
            for row in self.rows
        ]
        return column_widths(header, body)


def comparable_columns(results: Results) -> list[str]:
    """Every watch column of any variant, in the order they first appear."""
    columns: list[str] = []
    for result in results.values():
        columns += [c for c in result.columns if c not in columns]
    return columns


def _keyed_rows(result: VariantResult) -> dict[tuple[int, int], Any]:
    """Rows keyed by (step, how many rows that step recorded before): `record()` may take
    several rows in one step, and a run that stopped early has fewer."""
    keyed: dict[tuple[int, int], Any] = {}
    seen: dict[int, int] = {}
    for row in result.rows:
        occurrence = seen.get(row.step, 0)
        seen[row.step] = occurrence + 1
        keyed[row.step, occurrence] = row.values
    return keyed


def compare_column(
    question: Question, results: Results, column: str, against: str | None = None
) -> Comparison:
    """`column` across the variants, the right one (or `against`) first and the rest in their
    order; a cell that differs from the first variant's is marked."""
    reference = against if against in results else reference_variant(question, results)
    order = [v for v in results if v == reference] + [v for v in results if v != reference]
    tolerance = tolerance_of(question)
    keyed = {v: _keyed_rows(results[v]) for v in order}
    errors: dict[str, tuple[int, int]] = {}
    for variant in order:
        error = results[variant].error
        if error is not None and error.step is not None:
            recorded = sum(1 for step, _ in keyed[variant] if step == error.step)
            errors[variant] = (error.step, recorded)
    keys = sorted({key for rows in keyed.values() for key in rows} | set(errors.values()))
    rows = []
    for key in keys:
        slots: list[Slot] = []
        for variant in order:
            values = keyed[variant].get(key)
            if values is not None and column in values:
                slot = Slot(SlotKind.VALUE, values[column])
            elif errors.get(variant) == key:
                slot = Slot(SlotKind.ERROR, error=results[variant].error)
            else:
                slot = Slot(SlotKind.MISSING)
            if slots and not _same_slot(slot, slots[0], tolerance):
                slot = Slot(slot.kind, slot.value, slot.error, differs=True)
            slots.append(slot)
        rows.append(ComparisonRow(key[0], tuple(slots)))
    return Comparison(column, tuple(order), tuple(rows))


def _same_slot(slot: Slot, right: Slot, tolerance: float) -> bool:
    if slot.kind is not right.kind:
        return False
    if slot.kind is SlotKind.VALUE:
        return values_equal(slot.value, right.value, tolerance)
    return slot.kind is SlotKind.MISSING or slot.error == right.error


def column_widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[int, ...]:
    """The width in terminal cells of each column of a table, header included, as the text
    will be shown (escaped by `display.one_line`; wide characters count twice)."""
    table = [header, *rows]
    return tuple(
        max(cell_len(display.one_line(row[i])) for row in table if i < len(row))
        for i in range(len(header))
    )


def table_width(widths: Sequence[int], cell_padding: int = 1, borders: int = 0) -> int:
    """The width of a whole table from its column widths: each column padded on both sides
    (a DataTable's `cell_padding`), plus `borders` cells for rules between and around."""
    return sum(w + 2 * cell_padding for w in widths) + borders


def variant_widths(
    result: VariantResult, differing: frozenset[tuple[int, str]] = frozenset(), marker: str = " ≠"
) -> tuple[int, ...]:
    """Each column's width of a variant's table (`step` first): the watch labels and the
    rounded values, a cell of `differing` (row index, column) with `marker` appended. The
    error, shown under the table, is not counted."""
    header = [_("step"), *result.columns]
    body = [
        [
            str(row.step),
            *(
                display.cell(row.values.get(c)) + (marker if (i, c) in differing else "")
                for c in result.columns
            ),
        ]
        for i, row in enumerate(result.rows)
    ]
    return column_widths(header, body)


@dataclass(frozen=True)
class VariantView:
    """Everything the lab shows of one variant, computed once."""

    heading: Heading
    result: VariantResult
    # None for a variant that is no run of the question (an edited one brings its own).
    code: VariantCode | None
    # How it differs from the reference variant, or the column pairs the question claims alike.
    differences: tuple[Difference, ...]
    # A plain-language reading of its error, next to PyTorch's message.
    gloss: str | None
    # The (row index, column) cells unlike the reference variant's, to be marked.
    differing: frozenset[tuple[int, str]]
    # Column widths of its table (`step` first), differing cells with " ≠" appended.
    widths: tuple[int, ...]


def variant_views(
    question: Question,
    results: Results,
    response: Response | None = None,
    language: str | None = None,
    yours: Sequence[str] | None = None,
) -> dict[str, VariantView]:
    """Each variant's view, in the order of `results`; `yours` is an order answer's lines."""
    found = headings(question, results, response, language)
    codes = variant_codes(question, yours)
    explained = explain(question, results)
    reference = reference_variant(question, results)
    tolerance = tolerance_of(question)
    views = {}
    for variant, result in results.items():
        differing = (
            differing_cells(result, results[reference], tolerance)
            if reference is not None and variant != reference
            else frozenset()
        )
        views[variant] = VariantView(
            heading=found[variant],
            result=result,
            code=codes.get(variant),
            differences=tuple(explained[variant]),
            gloss=gloss(result.error) if result.error is not None else None,
            differing=differing,
            widths=variant_widths(result, differing),
        )
    return views
