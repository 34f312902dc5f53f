"""Grading from traces: is a learner's answer right, and does the answer key hold? Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gradquiz.blanks import Cells, blank_problems, describe, grade_cells
from gradquiz.format.model import MAIN, REFERENCE, YOURS, NumericAnswer, Question
from gradquiz.format.problems import Problem
from gradquiz.i18n import _
from gradquiz.lab.protocol import UNFINISHED, RunError, VariantResult

Results = Mapping[str, VariantResult]
Response = str | frozenset[str] | bool | float | tuple[str, ...] | Cells


def values_equal(a: Any, b: Any, tolerance: float) -> bool:
    """Equal as traced values: numbers within `tolerance` (NaN equals NaN), lists elementwise."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            values_equal(x, y, tolerance) for x, y in zip(a, b, strict=True)
        )
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= tolerance
    return type(a) is type(b) and bool(a == b)


def errors_equal(a: RunError | None, b: RunError | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.type, a.message, a.step) == (b.type, b.message, b.step)


def traces_equal(a: VariantResult, b: VariantResult, tolerance: float) -> bool:
    """Same rows at the same steps with equal values, and the same error or none."""
    if a.columns != b.columns or len(a.rows) != len(b.rows):
        return False
    for row_a, row_b in zip(a.rows, b.rows, strict=True):
        if row_a.step != row_b.step or row_a.values.keys() != row_b.values.keys():
            return False
        if not all(values_equal(v, row_b.values[k], tolerance) for k, v in row_a.values.items()):
            return False
    return errors_equal(a.error, b.error)


def tolerance_of(question: Question) -> float:
    return question.experiment.tolerance if question.experiment else 1e-6


def proven(question: Question, results: Results) -> set[str] | bool | None:
    """What the experiment proves through `verify`: the correct choice ids, or for truefalse
    whether the statement holds. None when there is no verify or it could not be evaluated."""
    verify = question.verify
    if verify is None:
        return None
    if verify.same_as is not None:
        anchor = results.get(verify.same_as)
        if anchor is None:
            return None
        tolerance = tolerance_of(question)
        return {
            choice.id
            for choice in question.choices
            if choice.id in results and traces_equal(results[choice.id], anchor, tolerance)
        }
    outcomes = {variant: result.verify for variant, result in results.items()}
    if any(o is None or o.error is not None for o in outcomes.values()):
        return None
    if question.type == "truefalse":
        main = outcomes.get(MAIN)
        return None if main is None else bool(main.value)
    return {variant for variant, outcome in outcomes.items() if outcome and outcome.value}


def numeric_value(question: Question, results: Results) -> float | None:
    """The correct number for a numeric question: its `expr` after the main run."""
    main = results.get(MAIN)
    if main is None or main.answer is None or main.answer.error is not None:
        return None
    value = main.answer.value
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def variant_correct(question: Question, variant: str, results: Results) -> bool | None:
    """Whether a variant stands for a correct answer, where the key or the run says."""
    if question.type == "order":
        if variant == REFERENCE:
            return True
        if variant in results and REFERENCE in results:
            return traces_equal(results[variant], results[REFERENCE], tolerance_of(question))
        return None
    if question.choice(variant) is not None:
        return variant in question.correct_choices()
    return None


@dataclass(frozen=True)
class Verdict:
    correct: bool
    detail: str


def grade(question: Question, response: Response, results: Results) -> Verdict:
    """Grade a learner's response; `results` must hold the runs the type needs."""
    kind = question.type
    if kind == "single":
        right = question.correct_choices()
        detail = _("The answer is {ids}.").format(ids=", ".join(sorted(right)))
        return Verdict(response in right, detail)
    if kind == "multiple":
        right = question.correct_choices()
        picked = set(response) if isinstance(response, frozenset) else set()
        detail = _("The correct choices are {ids}.").format(ids=", ".join(sorted(right)))
        return Verdict(picked == right, detail)
    if kind == "truefalse":
        truth = bool(question.answer)
        detail = _("The statement is true.") if truth else _("The statement is false.")
        return Verdict(response is truth, detail)
    if kind == "numeric":
        assert isinstance(question.answer, NumericAnswer)
        value = numeric_value(question, results)
        if value is None or not isinstance(response, int | float):
            return Verdict(False, _("The experiment did not produce a number."))
        tolerance = question.answer.tolerance
        ok = abs(float(response) - value) <= tolerance
        detail = _("PyTorch computes {value:.6g} (accepted within ±{tolerance:g}).")
        return Verdict(ok, detail.format(value=value, tolerance=tolerance))
    if kind == "trace":
        main = results.get(MAIN)
        if main is None or not isinstance(response, Cells):
            return Verdict(False, _("The experiment has not been run."))
        cells = grade_cells(question, response.values, main)
        return Verdict(all(c.correct for c in cells), describe(cells))
    yours, reference = results.get(YOURS), results.get(REFERENCE)
    if yours is None or reference is None:
        return Verdict(False, _("The arrangement has not been run."))
    same = traces_equal(yours, reference, tolerance_of(question))
    detail = (
        _("Your arrangement behaves exactly like the reference.")
        if same
        else _("Your arrangement's trace differs from the reference's.")
    )
    return Verdict(same, detail)


def _names(ids: set[str]) -> str:
    return ", ".join(sorted(ids)) or _("none")


def check(question: Question, results: Results) -> list[Problem]:
    """Every way the answer key, `verify` or a numeric `value` disagrees with the runs."""
    problems = [
        Problem(
            question.where("experiment"),
            _("variant {variant}: {error}").format(variant=variant, error=result.error),
        )
        for variant, result in results.items()
        if result.error is not None and result.error.type in UNFINISHED
    ]
    for variant, result in results.items():
        for name, outcome in (("verify", result.verify), ("answer", result.answer)):
            if outcome is not None and outcome.error is not None:
                where = question.where(name)
                message = _("{name} expr failed in {variant}: {error}")
                message = message.format(name=name, variant=variant, error=outcome.error)
                problems.append(Problem(where, message))
    if problems:
        return problems
    shown = proven(question, results)
    where = question.where("answer")
    if question.type in ("single", "multiple") and isinstance(shown, set):
        key = question.correct_choices()
        if shown != key:
            message = _("answer key says {key} but the experiment proves {proven}")
            problems.append(Problem(where, message.format(key=_names(key), proven=_names(shown))))
    elif question.type == "truefalse" and isinstance(shown, bool) and shown != question.answer:
        said, found = str(question.answer).lower(), str(shown).lower()
        message = _("answer key says {key} but the experiment shows {shown}")
        problems.append(Problem(where, message.format(key=said, shown=found)))
    elif question.type == "numeric":
        assert isinstance(question.answer, NumericAnswer)
        value = numeric_value(question, results)
        if value is None:
            problems.append(Problem(where, _("answer expr did not give a single number")))
        elif (
            question.answer.value is not None
            # The author's number is for draw 0, every parameter's first value.
            and (question.draw is None or question.draw.number == 0)
            and not abs(question.answer.value - value) <= question.answer.tolerance
        ):
            message = _("answer value is {key:g} but PyTorch computes {value:.6g}")
            problems.append(Problem(where, message.format(key=question.answer.value, value=value)))
    elif question.type == "trace" and MAIN in results:
        problems.extend(blank_problems(question, results[MAIN]))
    elif question.type == "order":
        reference = results.get(REFERENCE)
        if reference is not None and reference.error is not None:
            message = _("the lines in order fail: {error}").format(error=reference.error)
            problems.append(Problem(question.where("lines"), message))
    return problems
