"""Warnings for authors: questions that are valid and keyed right but will not teach well. Pure.

`grading.check` finds what is wrong; this finds what the learner cannot see: a right and a
wrong choice with the same tables, a numeric tolerance that also accepts a plausible mistake,
watch columns that show nothing, experiments slow enough to keep the learner waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gradquiz import display
from gradquiz.format.model import MAIN, NumericAnswer, Question
from gradquiz.format.problems import Location, Problem
from gradquiz.grading import Results, numeric_value, tolerance_of, traces_equal, values_equal
from gradquiz.lab.protocol import UNFINISHED

# A variant that takes longer than this keeps a learner waiting after Enter; the app runs the
# variants of a question at once, but a laptop has few cores.
SLOW_SECONDS = 1.0
# How the runner shows a watch expression that raised: `<NameError: name 'x' is not defined>`.
_FAILED_WATCH = re.compile(r"^<\w*(?:Error|Exception): .*>$", re.DOTALL)


def warn(location: Location, message: str) -> Problem:
    return Problem(location, message, "warning")


def warnings(question: Question, results: Results, key_disputed: bool = False) -> list[Problem]:
    """Every warning for one question, given the runs of all its variants.

    `key_disputed`: check already says the answer key is wrong; warnings that take the key
    as written (ambiguous choices) would repeat that mistake in other words.
    """
    if not results or any(
        r.error is not None and r.error.type in UNFINISHED for r in results.values()
    ):
        return []
    return sorted(
        [
            *([] if key_disputed else ambiguous_choices(question, results)),
            *loose_tolerance(question, results),
            *idle_watches(question, results),
            *slow_variants(question, results),
        ]
    )


def _choice_location(question: Question, choice_id: str) -> Location:
    choice = question.choice(choice_id)
    if choice is not None and choice.code is not None:
        return choice.code.origin
    return question.where("choices")


def ambiguous_choices(question: Question, results: Results) -> list[Problem]:
    """A correct and a wrong choice whose traces are equal: the tables cannot say why."""
    if question.type not in ("single", "multiple") or not question.has_choice_variants:
        return []
    key = question.correct_choices()
    tolerance = tolerance_of(question)
    ran = [c.id for c in question.choices if c.id in results]
    out = []
    for wrong in (c for c in ran if c not in key):
        twins = [
            right
            for right in ran
            if right in key and traces_equal(results[right], results[wrong], tolerance)
        ]
        if twins:
            out.append(
                warn(
                    _choice_location(question, wrong),
                    f"choice {wrong} is wrong but its trace equals that of correct choice "
                    f"{twins[0]}: the tables cannot show the learner the difference "
                    "(watch a value that differs)",
                )
            )
    return out


def _numbers(value: Any) -> Iterator[float]:
    for item in display.flatten(value):
        if isinstance(item, int | float) and not isinstance(item, bool):
            yield float(item)


def loose_tolerance(question: Question, results: Results) -> list[Problem]:
    """A numeric tolerance wide enough to accept a plausible wrong answer.

    The plausible wrong answers are 0, the answer with its sign flipped, and every number in
    the `main` trace: the values at other steps and in other columns, which is what a learner
    who stops a step early or reads the wrong column would type.
    """
    answer = question.answer
    if question.type != "numeric" or not isinstance(answer, NumericAnswer):
        return []
    value = numeric_value(question, results)
    main = results.get(MAIN)
    if value is None or main is None:
        return []
    # Below this a candidate is the answer itself, seen through float32 rounding.
    same = max(tolerance_of(question), 1e-6 * abs(value))
    candidates: list[tuple[float, str]] = [
        (0.0, "zero"),
        (-value, "the answer with its sign flipped"),
    ]
    for row in main.rows:
        for column, cell in row.values.items():
            candidates += [(n, f"{column} at step {row.step}") for n in _numbers(cell)]
    accepted = [
        (abs(n - value), n, where)
        for n, where in candidates
        if same < abs(n - value) <= answer.tolerance
    ]
    if not accepted:
        return []
    gap, number, where = min(accepted)
    return [
        warn(
            question.where("answer"),
            f"tolerance {answer.tolerance:g} also accepts {number:.6g} ({where}), "
            f"which is {gap:.3g} from the answer {value:.6g}; "
            f"make it smaller than {gap:.3g}",
        )
    ]


def idle_watches(question: Question, results: Results) -> list[Problem]:
    """Watch columns that show nothing.

    - A column whose expression raises in every row of every run shows only the error: a
      typo, or a name the code never defines. (A column that is None everywhere is never
      flagged, by this rule or the next: "the gradient stays None" is often the lesson.)
    - A column with one value in every row of every variant, in a question with several
      choice variants and several steps, never moves while everything it sits beside does:
      a constant, better stated in the prompt. (A column equal across the variants but moving
      over the steps is context, such as a reference run to compare against, and is not
      flagged.)
    """
    experiment = question.experiment
    if experiment is None or experiment.watch is None:
        return []
    tolerance = tolerance_of(question)
    ran = list(results.values())
    several = len(ran) > 1 and question.has_choice_variants and experiment.steps > 1
    out = []
    for label, expr in experiment.watch:
        cells = [
            row.values.get(label) for result in ran for row in result.rows if label in row.values
        ]
        if not cells:
            continue
        failures = [c for c in cells if isinstance(c, str) and _FAILED_WATCH.match(c)]
        if len(failures) == len(cells):
            out.append(warn(expr.origin, f"watch {label!r} fails in every row: {failures[0]}"))
        elif (
            several
            and cells[0] is not None
            and all(values_equal(c, cells[0], tolerance) for c in cells[1:])
        ):
            value = cells[0]
            shown = f"{value:.6g}" if isinstance(value, float) else display.cell(value)
            out.append(
                warn(
                    expr.origin,
                    f"watch {label!r} is {shown} in every row of every variant: it never "
                    "moves, so it does not help tell the choices apart",
                )
            )
    return out


def slow_variants(question: Question, results: Results) -> list[Problem]:
    """One warning per question whose slowest variant takes over SLOW_SECONDS."""
    slow = sorted(
        ((r.seconds, r.variant) for r in results.values() if r.seconds > SLOW_SECONDS),
        reverse=True,
    )
    if not slow:
        return []
    listed = ", ".join(f"{variant} {seconds:.1f} s" for seconds, variant in slow)
    return [
        warn(
            question.where("experiment"),
            f"experiment takes over {SLOW_SECONDS:g} s per run ({listed}); learners wait for "
            "it after every answer: fewer steps or smaller tensors",
        )
    ]
