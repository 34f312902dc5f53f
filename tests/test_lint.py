"""`gradquiz check` warnings: what they catch, their messages and where they point."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradquiz import lint
from gradquiz.cli.check import Report, collect
from gradquiz.format import Problem, Question, load
from gradquiz.format.loader import load_document
from gradquiz.format.problems import Location
from gradquiz.format.yamlsafe import parse
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import Outcome, Row, RunError, VariantResult
from tests.conftest import PACKS, write

WARNED = """\
questions:
  - id: twins
    type: single
    title: t
    prompt: p
    topic: lint
    experiment:
      setup: |
        w = torch.tensor(1.0, requires_grad=True)
      steps: 2
      watch:
        w.grad: w.grad
        lr: "0.1"
        typo: w.gard
        never: None
    choices:
      - id: A
        text: twice w
        code: |
          w.grad = None
          (2 * w).backward()
      - id: B
        text: w plus w
        code: |
          w.grad = None
          (w + w).backward()
        feedback: f
      - id: C
        text: mean of two
        code: |
          w.grad = None
          (w * torch.ones(2)).mean().backward()
        feedback: f
    answer: A
  - id: loose
    type: numeric
    title: t
    prompt: p
    topic: lint
    experiment:
      setup: |
        w = torch.tensor(2.0, requires_grad=True)
      code: |
        loss = (3 * w) ** 2
        loss.backward()
      steps: 2
      watch: {w.grad: w.grad}
    answer: {expr: "w.grad.item()", value: 72, tolerance: 40}
"""


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first `needle` after the first `after`."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def check(path: Path, lab: Lab) -> Report:
    library = load([path])
    assert library.problems == []
    return collect(library, lambda _: True, lab=lab)


def test_warnings_name_the_trouble_and_point_at_it(tmp_path: Path, lab: Lab) -> None:
    path = write(tmp_path, "warned.yaml", WARNED)
    report = check(path, lab)
    assert report.problems == []
    file = str(path)

    def at(needle: str, after: str = "", column: int = 1) -> Location:
        return Location(file, line_of(WARNED, needle, after), column)

    assert report.warnings == [
        Problem(
            at('"0.1"', column=14),
            "watch 'lr' is 0.1 in every row of every variant: it never moves, so it does not "
            "help tell the choices apart",
            "warning",
        ),
        Problem(
            at("w.gard", column=15),
            "watch 'typo' fails in every row: "
            "<AttributeError: 'Tensor' object has no attribute 'gard'>",
            "warning",
        ),
        Problem(
            at("w.grad = None", after="id: B", column=11),
            "choice B is wrong but its trace equals that of correct choice A: the tables "
            "cannot show the learner the difference (watch a value that differs)",
            "warning",
        ),
        Problem(
            at("answer: {expr", column=5),
            "tolerance 40 also accepts 36 (w.grad at step 1), which is 36 from the answer 72; "
            "make it smaller than 36",
            "warning",
        ),
    ]
    assert str(report.warnings[0]).startswith(f"{file}:13:14: warning: watch 'lr'")
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 1


def test_the_test_pack_and_templates_stay_quiet(lab: Lab) -> None:
    report = check(PACKS / "good.yaml", lab)
    assert (report.problems, report.warnings) == ([], [])


def _question(text: str) -> Question:
    [question], problems = load_document("q.yaml", parse("q.yaml", text))
    assert problems == []
    return question


TRUEFALSE = """\
id: slow
type: truefalse
title: t
prompt: p
topic: lint
experiment:
  code: x = 1
  watch: {x: x}
answer: true
"""


def _result(seconds: float = 0.1, error: RunError | None = None) -> VariantResult:
    return VariantResult("slow", "main", ["x"], [Row(1, {"x": 1})], error, seconds=seconds)


def test_slow_runs_warn_once_per_question_slowest_first() -> None:
    question = _question(TRUEFALSE)
    results = {"main": _result(seconds=1.25)}
    [warning] = lint.warnings(question, results)
    assert warning == Problem(
        Location("q.yaml", 6, 1),
        "experiment takes over 1 s per run (main 1.2 s); learners wait for it after every "
        "answer: fewer steps or smaller tensors",
        "warning",
    )
    assert lint.warnings(question, {"main": _result(seconds=0.99)}) == []


def test_runs_that_never_finished_are_problems_not_warnings() -> None:
    question = _question(TRUEFALSE)
    timeout = RunError("Timeout", "timed out after 1 s", 1)
    assert lint.warnings(question, {"main": _result(seconds=5, error=timeout)}) == []


@pytest.mark.parametrize(("tolerance", "warned"), [(0.5, False), (1.5, True)])
def test_zero_counts_as_a_plausible_wrong_answer(tolerance: float, warned: bool) -> None:
    question = _question(
        TRUEFALSE.replace("type: truefalse", "type: numeric")
        .replace("answer: true", f"answer: {{expr: x, value: 1, tolerance: {tolerance}}}")
        .replace("watch: {x: x}", "watch: {s: '\"text\"'}")
    )
    result = VariantResult(
        "slow", "main", ["s"], [Row(1, {"s": "text"})], answer=Outcome(value=1.0)
    )
    found = lint.loose_tolerance(question, {"main": result})
    assert [w.message for w in found] == (
        [
            f"tolerance {tolerance:g} also accepts 0 (zero), which is 1 from the answer 1; "
            "make it smaller than 1"
        ]
        if warned
        else []
    )


def test_a_shuffled_question_whose_text_names_choices_by_letter() -> None:
    from dataclasses import replace

    from gradquiz.format import Text

    (question,) = [q for q in load([PACKS / "drills.yaml"]).questions if q.choices]
    said = Text({"en": "Clearing first (A) is right.", "zh": "先清零（A）是对的。"})
    (warning,) = lint.letters_in_shuffled_texts(replace(question, explanation=said))
    assert warning.location == question.where("choices")
    assert warning.message == (
        "a text names choices by id ('(A)'), but they are shown in a new order each attempt, "
        "under other letters: write `shuffle: false`, or name the choice by what it says"
    )
    chinese = Text({"en": "Clearing first is right.", "zh": "选项 A 和 C 不同。"})
    assert lint.letters_in_shuffled_texts(replace(question, explanation=chinese))
    # Not a reference: an article, code, a letter inside a word; nor when the order is kept.
    prose = Text({"en": "A step (`opt.step(A)`) moves w; CA is fine.", "zh": "一步。"})
    assert lint.letters_in_shuffled_texts(replace(question, explanation=prose)) == []
    kept = replace(question, explanation=said, shuffle=False)
    assert lint.letters_in_shuffled_texts(kept) == []
