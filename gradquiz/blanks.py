"""Trace questions: the blanks of a table, found in a run and graded cell by cell. Pure.

Rows are counted as the table shows them, from 1; the row after the last is where an error
is shown, so a `raises` blank sits there. A cell blank must hold one number (a number, or a
tensor of one element): that is what a learner can type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gradquiz.display import flatten, number, plural
from gradquiz.format.model import Blank, Question
from gradquiz.format.problems import Problem
from gradquiz.i18n import _
from gradquiz.lab.protocol import Row, RunError, VariantResult

# What a blank cell holds in the table a learner sees before answering.
HIDDEN = "▢"

# What a learner writes in a blank: a number, an exception's name for a `raises` blank, or
# nothing yet.
Given = float | str | None


@dataclass(frozen=True)
class Cells:
    """A trace question's response: one entry per blank, in the order the blanks are listed."""

    values: tuple[Given, ...]

    def to_json(self) -> list[Given]:
        return list(self.values)


def one_number(value: Any) -> float | None:
    """The cell as a single number, or None when it is not exactly one (bools are not)."""
    items = flatten(value)
    if len(items) != 1 or isinstance(items[0], bool) or not isinstance(items[0], int | float):
        return None
    return float(items[0])


def expected(blank: Blank, result: VariantResult) -> float | str | None:
    """What the run holds at a blank: the cell's number, or for a `raises` blank the error's
    type; None when the run has no such cell, or no error at that row."""
    if blank.raises:
        at_row = result.error is not None and blank.row == len(result.rows) + 1
        return result.error.type if at_row and result.error is not None else None
    if blank.row > len(result.rows):
        return None
    row = result.rows[blank.row - 1]
    if blank.column not in row.values:
        return None
    return one_number(row.values[blank.column])


def masked(question: Question, result: VariantResult) -> VariantResult:
    """The run as the learner sees it before answering: each blank cell holds HIDDEN, and
    with a `raises` blank the error keeps its row but not its type or message. The values
    never reach the screen, so no widget can show them by mistake."""
    cells = {(b.row, b.column) for b in question.blanks if not b.raises}
    rows = [
        Row(
            row.step,
            {k: HIDDEN if (index, k) in cells else v for k, v in row.values.items()},
        )
        for index, row in enumerate(result.rows, 1)
    ]
    error = result.error
    if error is not None and any(b.raises for b in question.blanks):
        error = RunError(HIDDEN, "", error.step)
    return replace(result, rows=rows, error=error, verify=None, answer=None)


@dataclass(frozen=True)
class CellVerdict:
    blank: Blank
    given: Given
    expected: float | str | None
    correct: bool


def _close(given: float, truth: float, tolerance: float) -> bool:
    if math.isnan(truth) or math.isnan(given):
        return math.isnan(truth) and math.isnan(given)
    return given == truth or abs(given - truth) <= tolerance


def grade_cells(
    question: Question, given: Sequence[Given], result: VariantResult
) -> list[CellVerdict]:
    """Each blank against the run: a number within the question's tolerance, or the error's
    exact type name. A blank left empty, or one the run does not have, is wrong."""
    tolerance = question.trace_tolerance
    verdicts = []
    padded = [*given, *[None] * (len(question.blanks) - len(given))]
    for blank, mine in zip(question.blanks, padded, strict=False):
        truth = expected(blank, result)
        if isinstance(truth, str):
            right = isinstance(mine, str) and mine == truth
        elif truth is None or mine is None or isinstance(mine, str):
            right = False
        else:
            right = _close(float(mine), truth, tolerance)
        verdicts.append(CellVerdict(blank, mine, truth, right))
    return verdicts


def describe(verdicts: Sequence[CellVerdict]) -> str:
    """`2 of 3 cells right; row 3, w.grad: PyTorch has 4.000000`."""
    right = sum(v.correct for v in verdicts)
    wrong = [
        _("{cell}: PyTorch has {value}").format(
            cell=v.blank.label(),
            value=number(v.expected) if isinstance(v.expected, float) else str(v.expected),
        )
        for v in verdicts
        if not v.correct
    ]
    head = plural(
        len(verdicts), "{right} of {n} cell right", "{right} of {n} cells right", right=right
    )
    # TRANSLATORS: the parts of a trace verdict, joined, and the verdict's end.
    return _("; ").join([head, *wrong]) + _(".")


def blank_problems(question: Question, result: VariantResult) -> list[Problem]:
    """Blanks the run cannot fill: rows or columns it does not have, cells that are not one
    number, an error the run does not raise there or that the blank does not offer."""
    where = question.where("blanks")
    out = []
    for blank in question.blanks:
        truth = expected(blank, result)
        if truth is not None:
            if isinstance(truth, str) and truth not in blank.errors:
                out.append(
                    Problem(
                        where,
                        _(
                            "the run raises {error} at row {row}, which the blank does not "
                            "offer ({offered}); add it to 'errors'"
                        ).format(error=truth, row=blank.row, offered=", ".join(blank.errors)),
                    )
                )
            continue
        out.append(Problem(where, _missing(blank, result)))
    return out


def _missing(blank: Blank, result: VariantResult) -> str:
    rows = len(result.rows)
    if blank.raises:
        if result.error is None:
            return _("blank at row {row} says the run raises, but it does not").format(
                row=blank.row
            )
        return _(
            "blank at row {row} says the run raises there, but it raises after row {rows} "
            "(so at row {next})"
        ).format(row=blank.row, rows=rows, next=rows + 1)
    if blank.row > rows:
        if result.error:
            return plural(
                rows,
                "blank at {blank}: the run raises {error} after {n} row",
                "blank at {blank}: the run raises {error} after {n} rows",
                blank=blank.label(),
                error=result.error,
            )
        return plural(
            rows,
            "blank at {blank}: the run has {n} row",
            "blank at {blank}: the run has {n} rows",
            blank=blank.label(),
        )
    if blank.column is None or blank.column not in result.columns:
        return _("blank at {blank}: the table has no column {column!r}").format(
            blank=blank.label(), column=blank.column
        )
    value = result.rows[blank.row - 1].values.get(blank.column)
    shown = (
        repr(value)
        if not isinstance(value, list)
        else plural(len(flatten(value)), "{n} value", "{n} values")
    )
    return _("blank at {blank} holds {shown}; a blank must hold one number").format(
        blank=blank.label(), shown=shown
    )


def giveaways(question: Question, result: VariantResult) -> list[Problem]:
    """Blanks whose number a visible cell shows: the learner can copy instead of predict."""
    hidden = {(b.row, b.column) for b in question.blanks if not b.raises}
    tolerance = question.trace_tolerance
    out = []
    for blank in question.blanks:
        truth = expected(blank, result)
        if not isinstance(truth, float):
            continue
        for index, row in enumerate(result.rows, 1):
            twin = next(
                (
                    column
                    for column in result.columns
                    if (index, column) not in hidden
                    and (seen := one_number(row.values.get(column))) is not None
                    and _close(seen, truth, tolerance)
                ),
                None,
            )
            if twin is not None:
                out.append(
                    Problem(
                        question.where("blanks"),
                        _(
                            "blank at {blank} ({value}) is given away by row {row}, {column}, "
                            "which shows the same number: blank that cell too, or choose another"
                        ).format(blank=blank.label(), value=number(truth), row=index, column=twin),
                        "warning",
                    )
                )
                break
    return out
