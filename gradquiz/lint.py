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
from gradquiz.blanks import giveaways
from gradquiz.format.loader import texts
from gradquiz.format.model import MAIN, NumericAnswer, Question
from gradquiz.format.problems import Location, Problem
from gradquiz.grading import Results, numeric_value, tolerance_of, traces_equal, values_equal
from gradquiz.i18n import _
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
            *letters_in_shuffled_texts(question),
            *(giveaways(question, results[MAIN]) if MAIN in results else []),
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
            message = _(
                "choice {wrong} is wrong but its trace equals that of correct choice "
                "{right}: the tables cannot show the learner the difference "
                "(watch a value that differs)"
            )
            where = _choice_location(question, wrong)
            out.append(warn(where, message.format(wrong=wrong, right=twins[0])))
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
        (0.0, _("zero")),
        (-value, _("the answer with its sign flipped")),
    ]
    for row in main.rows:
        for column, cell in row.values.items():
            at = _("{column} at step {step}").format(column=column, step=row.step)
            candidates += [(n, at) for n in _numbers(cell)]
    accepted = [
        (abs(n - value), n, where)
        for n, where in candidates
        if same < abs(n - value) <= answer.tolerance
    ]
    if not accepted:
        return []
    gap, number, where = min(accepted)
    message = _(
        "tolerance {tolerance:g} also accepts {number:.6g} ({where}), "
        "which is {gap:.3g} from the answer {value:.6g}; make it smaller than {gap:.3g}"
    )
    shown = message.format(
        tolerance=answer.tolerance, number=number, where=where, gap=gap, value=value
    )
    return [warn(question.where("answer"), shown)]


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
            message = _("watch {label} fails in every row: {failure}")
            out.append(warn(expr.origin, message.format(label=repr(label), failure=failures[0])))
        elif (
            several
            and cells[0] is not None
            and all(values_equal(c, cells[0], tolerance) for c in cells[1:])
        ):
            value = cells[0]
            shown = f"{value:.6g}" if isinstance(value, float) else display.cell(value)
            message = _(
                "watch {label} is {value} in every row of every variant: it never "
                "moves, so it does not help tell the choices apart"
            )
            out.append(warn(expr.origin, message.format(label=repr(label), value=shown)))
    return out


def _letter_reference(ids: list[str]) -> re.Pattern[str]:
    """`(B)`, `(B and C)`, `(A, C and D)` (full-width parentheses too), `choice B`,
    `choices B and C`, `选项 B`."""
    one = "(?:" + "|".join(map(re.escape, ids)) + ")"
    several = rf"{one}(?:\s*(?:,|、|and|or|和|或)\s*{one})*"
    return re.compile(
        rf"[(（]\s*{several}\s*[)）,，;:]|\b(?:choices?|options?)\s+{several}\b|选项\s*{several}"
    )


def letters_in_shuffled_texts(question: Question) -> list[Problem]:
    """A text that names choices by id, in a question whose choices are shown in a new order
    each attempt: the learner reads other letters than the text names."""
    if not question.shuffle or not question.choices:
        return []
    reference = _letter_reference([c.id for c in question.choices])
    for text in texts(question):
        for body in text.by_language.values():
            # Code is not prose: `x[A]` or `f(B)` names no choice.
            prose = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", body, flags=re.DOTALL))
            found = reference.search(prose)
            if found:
                named = found.group().strip(" ,，;:")
                return [
                    warn(
                        question.where("choices"),
                        f"a text names choices by id ({named!r}), but they are "
                        "shown in a new order each attempt, under other letters: write "
                        "`shuffle: false`, or name the choice by what it says",
                    )
                ]
    return []


def slow_variants(question: Question, results: Results) -> list[Problem]:
    """One warning per question whose slowest variant takes over SLOW_SECONDS."""
    slow = sorted(
        ((r.seconds, r.variant) for r in results.values() if r.seconds > SLOW_SECONDS),
        reverse=True,
    )
    if not slow:
        return []
    listed = ", ".join(f"{variant} {seconds:.1f} s" for seconds, variant in slow)
    message = _(
        "experiment takes over {limit:g} s per run ({listed}); learners wait for "
        "it after every answer: fewer steps or smaller tensors"
    )
    return [warn(question.where("experiment"), message.format(limit=SLOW_SECONDS, listed=listed))]
