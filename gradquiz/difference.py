"""Why two traces differ, in one sentence computed from the traces. Pure: no torch, no screen.

The lab shows, for each variant that differs from the right one, the first cell that differs
and a label when the difference has a shape a learner can recognise (gradients piling up,
`set_to_none`, a cut graph, a sign flip, an error). Where a question claims that two things
behave the same, it shows the largest difference over every cell instead. Common autograd
errors get a plain-language gloss next to PyTorch's own message.

Sentences quote watch labels and values from a pack: they are plain text, to be shown through
`display.one_line` and never as markup.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gradquiz import display
from gradquiz.format.model import MAIN, REFERENCE, YOURS, Question
from gradquiz.grading import errors_equal, tolerance_of, values_equal, variant_correct
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import RunError, VariantResult

Results = Mapping[str, VariantResult]


class Pattern(StrEnum):
    """A recognisable shape of a difference; the value is what the sentence calls it (in
    English: translated where the sentence is written)."""

    GROWING = N_("the gap grows with the step")
    NONE_VS_ZEROS = N_("None against zeros")
    NONE_VS_VALUES = N_("None against values")
    ZERO_VS_NONZERO = N_("zero against non-zero")
    SIGN_FLIP = N_("a sign flip")
    SCALED = N_("a constant factor")
    ERROR = N_("one raises an error and the other does not")
    OTHER_ERROR = N_("they raise different errors")


# What a pattern usually means when the column holds a gradient.
GRADIENT_MEANING = {
    Pattern.GROWING: N_("gradients piling up"),
    Pattern.NONE_VS_ZEROS: N_("set_to_none: cleared to None, or zeroed in place"),
    Pattern.NONE_VS_VALUES: N_("no gradient reached it: a cut graph, or no backward yet"),
    Pattern.ZERO_VS_NONZERO: N_("a cut graph: no_grad, detach"),
}


@dataclass(frozen=True)
class FirstCell:
    """Where two traces first disagree: the first row that differs and, of its differing
    cells, the one whose difference has a recognisable shape (a gradient's first), else the
    first in reading order."""

    step: int
    column: str
    value: Any
    against: Any


@dataclass(frozen=True)
class Difference:
    """How `subject` compares with `against`: two variants, or two columns of one trace."""

    subject: str
    against: str
    # Within the tolerance everywhere, with the same error or none.
    same: bool
    # Cells compared, and the largest |Δ| among the numeric ones (None: no numeric cell).
    cells: int
    max_delta: float | None
    first: FirstCell | None
    patterns: tuple[Pattern, ...]
    sentence: str


def gradient_column(label: str) -> bool:
    """A watch label that names a gradient (`w.grad`, `grad norm`), not `requires_grad`."""
    return re.search(r"(?<!requires_)grad(?!_fn)", label, re.IGNORECASE) is not None


def _numbers(value: Any) -> list[float] | None:
    """A value's numbers in order, when it holds numbers only (a number or a tensor)."""
    flat = display.flatten(value)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in flat):
        return None
    return [float(x) for x in flat]


def _shape(value: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def delta(a: Any, b: Any) -> float | None:
    """The largest |a - b| over the elements of two numbers or tensors of one shape; NaN
    against NaN counts as equal, NaN against a number as infinitely far. None: not comparable."""
    na, nb = _numbers(a), _numbers(b)
    if na is None or nb is None or _shape(a) != _shape(b):
        return None
    largest = 0.0
    for x, y in zip(na, nb, strict=True):
        if math.isnan(x) or math.isnan(y):
            gap = 0.0 if math.isnan(x) and math.isnan(y) else math.inf
        elif x == y:
            gap = 0.0
        else:
            gap = abs(x - y)
        largest = max(largest, gap)
    return largest


def _all_zero(value: Any) -> bool:
    numbers = _numbers(value)
    return bool(numbers) and all(x == 0 for x in numbers or ())


def _cell_pattern(a: Any, b: Any) -> Pattern | None:
    """What the first differing pair of values alone shows."""
    if (a is None) != (b is None):
        other = b if a is None else a
        if _all_zero(other):
            return Pattern.NONE_VS_ZEROS
        return Pattern.NONE_VS_VALUES if _numbers(other) else None
    na, nb = _numbers(a), _numbers(b)
    finite = na and nb and all(math.isfinite(x) for x in (*na, *nb))
    if finite and _all_zero(a) != _all_zero(b):
        return Pattern.ZERO_VS_NONZERO
    return None


def _ratio(pairs: Sequence[tuple[Any, Any]], tolerance: float, least: int = 2) -> float | None:
    """The one factor r with a = r * b in every pair, when at least `least` pairs of numbers
    show it (any one pair of numbers has a ratio)."""
    ratio: float | None = None
    witnesses = 0
    for a, b in pairs:
        na, nb = _numbers(a), _numbers(b)
        if not na or not nb or len(na) != len(nb):
            return None
        for x, y in zip(na, nb, strict=True):
            if not (math.isfinite(x) and math.isfinite(y)):
                return None
            if ratio is None and y != 0:
                ratio = x / y
            if ratio is not None and abs(x - ratio * y) > tolerance + 1e-6 * abs(x):
                return None
            if ratio is None and x != 0:
                return None
            witnesses += y != 0
    return ratio if witnesses >= least else None


def _growing(gaps: Sequence[float]) -> bool:
    """Gaps that keep growing: at least three, never shrinking by more than 5 %, and the
    last at least twice the first (a diverging trajectory and a pile-up both qualify)."""
    if len(gaps) < 3 or not all(math.isfinite(g) for g in gaps):
        return False
    steady = all(later >= earlier * 0.95 for earlier, later in itertools.pairwise(gaps))
    return steady and gaps[-1] >= 2 * gaps[0] > 0


def _column_pattern(
    pairs: Sequence[tuple[Any, Any]], tolerance: float
) -> tuple[Pattern | None, float | None]:
    """What one column shows from its first differing row on (`pairs` are (subject, against)),
    and for a constant factor, the factor."""
    first = _cell_pattern(*pairs[0])
    if first is not None:
        return first, None
    differing = [(a, b) for a, b in pairs if not values_equal(a, b, tolerance)]
    flipped = _ratio(differing, tolerance, least=1)
    if flipped is not None and abs(flipped + 1) <= 1e-6:
        return Pattern.SIGN_FLIP, None
    ratio = _ratio(differing, tolerance)
    if ratio is not None and ratio != 0 and abs(ratio - 1) > 1e-3:
        return Pattern.SCALED, ratio
    gaps = [delta(a, b) for a, b in pairs]
    if all(g is not None for g in gaps) and _growing([g for g in gaps if g is not None]):
        return Pattern.GROWING, None
    return None, None


def _shown(a: Any, b: Any) -> tuple[str, str]:
    """Both values rounded as the tables round them, with more digits when that hides the
    difference."""
    for digits in (display.DIGITS, 9, 12, 17):
        shown = display.cell(a, digits), display.cell(b, digits)
        if shown[0] != shown[1]:
            break
    return shown


def _amount(value: float) -> str:
    return "0" if value == 0 else f"{value:.3g}"


def _label(pattern: Pattern, column: str, ratio: float | None) -> str:
    text = _(pattern)
    if pattern is Pattern.SCALED and ratio is not None:
        text = _("{pattern}: {factor}× throughout").format(pattern=text, factor=_amount(ratio))
    if gradient_column(column) and pattern in GRADIENT_MEANING:
        text = _("{pattern} ({meaning})").format(pattern=text, meaning=_(GRADIENT_MEANING[pattern]))
    return text


@dataclass(frozen=True)
class _Series:
    """One side of a comparison: its rows as (step, {column: value}), and its error; `said`
    is how sentences call it when that is not its name."""

    name: str
    rows: list[tuple[int, Mapping[str, Any]]]
    error: RunError | None
    said: str | None = None

    @property
    def label(self) -> str:
        return self.said or self.name


# The variants that are no choice (a single run; an order question's two), as a learner reads
# them; their ids stay as they are in the data.
VARIANT_NAMES = {
    # TRANSLATORS: the heading of a question's one run (numeric, true/false, trace).
    MAIN: N_("main"),
    REFERENCE: N_("reference"),
    YOURS: N_("yours"),
}


def variant_name(variant: str) -> str:
    """A variant as sentences and headings call it: its id, or the words for one that is no
    choice."""
    name = VARIANT_NAMES.get(variant)
    return _(name) if name is not None else variant


def _error_text(error: RunError) -> str:
    if error.step is None:
        return error.type
    return _("{error} at step {step}").format(error=error.type, step=error.step)


def _compare(
    subject: _Series,
    against: _Series,
    columns: Sequence[tuple[str, str]],
    tolerance: float,
    *,
    one_trace: bool = False,
    unshared: Sequence[str] = (),
) -> Difference:
    """Compare cell by cell; `columns` pairs the subject's column with the one it is held to.
    `unshared` names the columns only one side watches."""
    cells = 0
    largest: float | None = None
    first_row: int | None = None
    differing: list[int] = []  # positions in `columns` that differ in the first row that does
    common = min(len(subject.rows), len(against.rows))
    for index in range(common):
        (_step, mine), (_their_step, theirs) = subject.rows[index], against.rows[index]
        for position, (mine_column, their_column) in enumerate(columns):
            if mine_column not in mine or their_column not in theirs:
                continue
            a, b = mine[mine_column], theirs[their_column]
            cells += 1
            gap = delta(a, b)
            if gap is not None:
                largest = gap if largest is None else max(largest, gap)
            if first_row in (None, index) and not values_equal(a, b, tolerance):
                first_row = index
                differing.append(position)
    same_errors = errors_equal(subject.error, against.error)
    same = first_row is None and same_errors and len(subject.rows) == len(against.rows)
    same = same and not unshared
    patterns: list[Pattern] = []
    first_cell: FirstCell | None = None
    ratio: float | None = None
    if first_row is not None:
        # Of the cells that differ first, the one whose difference has a shape tells most.
        found = [
            _column_at(subject, against, columns[p], slice(first_row, common), tolerance)
            for p in differing
        ]
        column, pairs, pattern, ratio = min(found, key=_telling)
        patterns += [pattern] if pattern is not None else []
        step = subject.rows[first_row][0]
        first_cell = FirstCell(step, column, pairs[0][0], pairs[0][1])
    if not same_errors:
        one_only = subject.error is None or against.error is None
        patterns.append(Pattern.ERROR if one_only else Pattern.OTHER_ERROR)
    clauses = _sentence(
        subject,
        against,
        cells=cells,
        largest=largest,
        first=first_cell,
        patterns=patterns,
        ratio=ratio,
        tolerance=tolerance,
        one_trace=one_trace,
        # Alike where both watch is not behaving alike: it "agrees", and what is missing is said.
        alike=_("{a} agrees with {b}: {measured}") if unshared else None,
    )
    sentence = _sentence_of([*clauses, *unshared])
    return Difference(
        subject.name, against.name, same, cells, largest, first_cell, tuple(patterns), sentence
    )


_Column = tuple[str, list[tuple[Any, Any]], Pattern | None, float | None]


def _column_at(
    subject: _Series,
    against: _Series,
    columns: tuple[str, str],
    rows: slice,
    tolerance: float,
) -> _Column:
    """A column's pairs of values over `rows`, and the pattern they show."""
    mine_column, their_column = columns
    pairs = [
        (mine[mine_column], theirs[their_column])
        for (_step, mine), (_their_step, theirs) in zip(
            subject.rows[rows], against.rows[rows], strict=True
        )
        if mine_column in mine and their_column in theirs
    ]
    pattern, ratio = _column_pattern(pairs, tolerance)
    return mine_column, pairs, pattern, ratio


def _telling(column: _Column) -> int:
    """Lower tells more: a pattern in a gradient, then any pattern, then none."""
    label, _pairs, pattern, _ratio = column
    if pattern is None:
        return 2
    return 0 if gradient_column(label) else 1


def _sentence(
    subject: _Series,
    against: _Series,
    *,
    cells: int,
    largest: float | None,
    first: FirstCell | None,
    patterns: Sequence[Pattern],
    ratio: float | None,
    tolerance: float,
    one_trace: bool,
    alike: str | None = None,
) -> list[str]:
    """The sentence's clauses (`_sentence_of` joins them); `alike` says how two traces that
    agree are said to (`{a} behaves like {b}: {measured}` by default)."""
    a, b = subject.label, against.label
    errors = _errors_clause(subject, against)
    if first is not None:
        shown_a, shown_b = _shown(first.value, first.against)
        facts = {"a": a, "b": b, "step": first.step, "value": shown_a, "other": shown_b}
        if one_trace:
            text = _("{a} differs from {b} first at step {step}: {value} against {other}")
        else:
            text = _(
                "{a} differs from {b} first at step {step}, in {column}: {value} against {other}"
            )
            facts["column"] = first.column
        labels = [_label(p, first.column, ratio) for p in patterns if p not in _ERROR_PATTERNS]
        then = [_("then {errors}").format(errors=errors)] if errors else []
        return [text.format(**facts), *labels, *then]
    if cells == 0:
        agreeing = []
    elif cells == 1:
        agreeing = [_("the cell before agrees")]
    else:
        agreeing = [_("all {cells} cells before agree").format(cells=cells)]
    if errors:
        return [errors, *agreeing]
    rows, other_rows = len(subject.rows), len(against.rows)
    if rows != other_rows:
        counted = display.plural(
            rows,
            "{a} has {n} row and {b} {other}",
            "{a} has {n} rows and {b} {other}",
            a=a,
            b=b,
            other=other_rows,
        )
        return [counted, *agreeing]
    both = (
        ""
        if subject.error is None
        else _("both raise {error}").format(error=_error_text(subject.error))
    )
    alike = alike or _("{a} behaves like {b}: {measured}")
    if cells == 0:
        return [alike.format(a=a, b=b, measured=both or _("no cells to compare"))]
    if largest is None:
        measured = _("the same value in all {cells}").format(
            cells=display.plural(cells, "{n} cell", "{n} cells")
        )
    else:
        over = display.plural(cells, "{n} cell", "{n} cells")
        if largest > 0:
            measured = _("max |Δ| = {delta} over {cells} (within the tolerance {tolerance:g})")
        else:
            measured = _("max |Δ| = {delta} over {cells}")
        measured = measured.format(delta=_amount(largest), cells=over, tolerance=tolerance)
    return [alike.format(a=a, b=b, measured=measured), *([both] if both else [])]


def _sentence_of(clauses: Sequence[str]) -> str:
    """Clauses joined into one sentence: `A differs …; then B raises …`."""
    # TRANSLATORS: how the clauses of a sentence about two runs are joined, and its end.
    return _("; ").join(clauses) + _(".")


_ERROR_PATTERNS = (Pattern.ERROR, Pattern.OTHER_ERROR)


def _errors_clause(subject: _Series, against: _Series) -> str:
    """What differs in how the two runs ended, or "" when they ended alike."""
    mine, theirs = subject.error, against.error
    if errors_equal(mine, theirs):
        return ""
    if mine is not None and theirs is not None:
        if (mine.type, mine.step) == (theirs.type, theirs.step):
            return _("both raise {error}, with different messages").format(error=_error_text(mine))
        return _("{a} raises {error}, {b} {other}").format(
            a=subject.label, error=_error_text(mine), b=against.label, other=_error_text(theirs)
        )
    if mine is not None:
        return _("{a} raises {error} and {b} does not").format(
            a=subject.label, error=_error_text(mine), b=against.label
        )
    assert theirs is not None
    return _("{a} raises {error} and {b} does not").format(
        a=against.label, error=_error_text(theirs), b=subject.label
    )


def _series(result: VariantResult, name: str, said: str | None = None) -> _Series:
    return _Series(name, [(row.step, row.values) for row in result.rows], result.error, said)


def compare(result: VariantResult, against: VariantResult, tolerance: float) -> Difference:
    """How one variant's trace compares with another's, over the columns both watch."""
    columns = [(c, c) for c in against.columns if c in result.columns]
    unshared = [
        _("only {variant} watches {columns}").format(
            variant=variant_name(one.variant), columns=", ".join(extra)
        )
        for one, other in ((result, against), (against, result))
        if (extra := [c for c in one.columns if c not in other.columns])
    ]
    return _compare(
        _series(result, result.variant, variant_name(result.variant)),
        _series(against, against.variant, variant_name(against.variant)),
        columns,
        tolerance,
        unshared=unshared,
    )


def compare_columns(
    result: VariantResult, column: str, against: str, tolerance: float
) -> Difference:
    """How two columns of one trace compare, step by step (`w2` held to `w1`)."""
    series = _series(result, column)
    return _compare(
        series,
        _Series(against, series.rows, series.error),
        [(column, against)],
        tolerance,
        one_trace=True,
    )


def reference_variant(question: Question, results: Results) -> str | None:
    """The variant the others are held to: an order question's reference, the `same_as`
    anchor, else the first variant the key marks correct. None when there is nothing to hold
    a variant to (a single run)."""
    if len(results) < 2:
        return None
    if question.type == "order":
        return REFERENCE if REFERENCE in results else None
    anchor = question.verify.same_as if question.verify else None
    if anchor is not None and anchor in results:
        return anchor
    return next((v for v in results if variant_correct(question, v, results) is True), None)


_SAMENESS = re.compile(
    r"\b(same|identical|equal|equals|equivalent|match|matches|bit for bit)\b", re.IGNORECASE
)
_EQUAL_ROWS = re.compile(
    r"(\w+)\[\s*(['\"])(.+?)\2\s*\]\s*==\s*\1\[\s*(['\"])(.+?)\4\s*\]"
    r"|(?:equal|allclose)\(\s*(\w+)\[\s*(['\"])(.+?)\7\s*\]\s*,\s*\6\[\s*(['\"])(.+?)\9\s*\]"
)


def _base(label: str) -> str:
    """A label without its qualifier: `w1 (weight_decay=0.2)` and `w2` are both `w`."""
    label = re.sub(r"\s*\(.*?\)", "", label).split(",")[0]
    return re.sub(r"(?<=[A-Za-z_])\d+\b", "", label).strip().lower()


def same_claims(question: Question) -> list[tuple[str, str]]:
    """Column pairs a single-run question claims behave the same, as (column, held to).

    Read from the question: pairs its `verify` expression compares row by row
    (`r['w1'] == r['w2']`), else, when its prompt speaks of sameness, watch labels that differ
    only by a number or a qualifier (`w1`/`w2`, `loss (zero_grad)`/`loss (never cleared)`).
    """
    experiment = question.experiment
    if experiment is None or experiment.watch is None or question.has_choice_variants:
        return []
    labels = [label for label, _expression in experiment.watch]
    expr = question.verify.expr.source if question.verify and question.verify.expr else ""
    pairs: list[tuple[str, str]] = []
    for match in _EQUAL_ROWS.finditer(expr):
        first, second = (match[3], match[5]) if match[1] else (match[8], match[10])
        if first in labels and second in labels and first != second:
            pairs.append((second, first))
    said = any(_SAMENESS.search(text) for text in question.prompt.by_language.values())
    if pairs or not said:
        return pairs
    by_base: dict[str, list[str]] = {}
    for label in labels:
        by_base.setdefault(_base(label), []).append(label)
    return [(group[1], group[0]) for base, group in by_base.items() if base and len(group) == 2]


def explain(question: Question, results: Results) -> dict[str, list[Difference]]:
    """For each variant, its sentences: held to the reference variant (every variant but the
    reference), or for a single run its columns that the question claims behave the same."""
    tolerance = tolerance_of(question)
    reference = reference_variant(question, results)
    explained: dict[str, list[Difference]] = {variant: [] for variant in results}
    if reference is not None:
        for variant, result in results.items():
            if variant != reference:
                explained[variant].append(compare(result, results[reference], tolerance))
        return explained
    for variant, result in results.items():
        for column, against in same_claims(question):
            if column in result.columns and against in result.columns:
                explained[variant].append(compare_columns(result, column, against, tolerance))
    return explained


# PyTorch's message (a fragment of it) and what it means, in the words of the lessons (marked:
# translated by `gloss`).
GLOSSES: tuple[tuple[str, str], ...] = (
    (
        "backward through the graph a second time",
        N_(
            "The first backward() freed the graph's saved values; a second backward through the "
            "same graph needs retain_graph=True on the first, or a fresh forward pass."
        ),
    ),
    (
        "modified by an inplace operation",
        N_(
            "A value that backward() needs was changed in place after the forward pass saved it; "
            "its version counter moved on. Compute a new tensor instead of writing into it."
        ),
    ),
    (
        "a leaf Variable that requires grad",
        N_(
            "An in-place change to a parameter (a leaf that requires grad) would not be recorded; "
            "do the update inside torch.no_grad()."
        ),
    ),
    (
        "a view of a leaf Variable that requires grad",
        N_(
            "Writing into a slice of a leaf that requires grad is an in-place change autograd "
            "cannot record; clone it first, or do it inside torch.no_grad()."
        ),
    ),
    (
        "does not require grad and does not have a grad_fn",
        N_(
            "backward() was called on a tensor that no recorded operation produced: nothing it was "
            "computed from requires grad, or it was computed under no_grad or after detach()."
        ),
    ),
    (
        "grad can be implicitly created only for scalar outputs",
        N_(
            "backward() without an argument needs a single number; reduce with .sum() or .mean(), "
            "or pass a gradient of the tensor's shape."
        ),
    ),
    (
        "can only change requires_grad flags of leaf variables",
        N_(
            "Only a tensor you created can be switched to requires_grad; a computed one takes its "
            "flag from its inputs (use .detach() for a copy outside the graph)."
        ),
    ),
    (
        "Inference tensors cannot be saved for backward",
        N_(
            "Tensors made under torch.inference_mode() can never join a graph; use no_grad(), or "
            "clone() the tensor."
        ),
    ),
    (
        "appears to not have been used in the graph",
        N_(
            "One of the inputs asked for is not connected to the output; no gradient can reach it "
            "(allow_unused=True returns None for it)."
        ),
    ),
    (
        "One of the differentiated Tensors does not require grad",
        N_("autograd.grad was asked for the gradient of a tensor that does not require grad."),
    ),
    (
        "Expected more than 1 value per channel when training",
        N_(
            "BatchNorm in training mode needs more than one value per channel to compute a "
            "variance; use a bigger batch or call model.eval()."
        ),
    ),
    (
        "Expected to have finished reduction in the prior iteration",
        N_(
            "DDP waited for the gradient of a parameter the loss never used; pass "
            "find_unused_parameters=True, or use every parameter."
        ),
    ),
    (
        "and 'NoneType'",
        N_(
            "A value was None where a number or tensor was expected: often a .grad that no "
            "backward() has filled yet."
        ),
    ),
    (
        "shapes cannot be multiplied",
        N_(
            "The tensor reaching a Linear layer has a different number of features than the layer "
            "expects."
        ),
    ),
)


def gloss(error: RunError) -> str | None:
    """A short plain-language reading of a common autograd error, or None."""
    message = f"{error.type}: {error.message}"
    # The view-of-a-leaf message contains the leaf one: the longer fragment is the better fit.
    matched = [(len(fragment), meaning) for fragment, meaning in GLOSSES if fragment in message]
    return _(max(matched)[1]) if matched else None


def differing_cells(
    result: VariantResult, against: VariantResult, tolerance: float
) -> frozenset[tuple[int, str]]:
    """The (row index, column) cells of `result` that `against` does not match: a different
    value, or no such cell at all. Rows are matched by position, as `compare` does."""
    cells = set()
    for index, row in enumerate(result.rows):
        other = against.rows[index].values if index < len(against.rows) else {}
        for column, value in row.values.items():
            if column not in other or not values_equal(value, other[column], tolerance):
                cells.add((index, column))
    return frozenset(cells)
