"""Trace questions graded cell by cell against a run, and what check says of their blanks."""

from __future__ import annotations

from dataclasses import replace

from gradquiz import grading, lint
from gradquiz.blanks import Cells, expected, giveaways, grade_cells
from gradquiz.format import load
from gradquiz.format.model import Blank, TraceAnswer
from gradquiz.lab.protocol import Row, RunError, VariantResult
from tests.conftest import PACKS

TABLE, TWICE, _, _ = load([PACKS / "drills.yaml"]).questions

# `sgd-table` at lr 0.1, as PyTorch computes it (float32): w 1 -> 1.4 -> 1.72.
SGD_RUN = VariantResult(
    "sgd-table",
    "main",
    ["w", "w.grad"],
    [
        Row(1, {"w": 1.0, "w.grad": -4.0}),
        Row(2, {"w": 1.399999976158142, "w.grad": -3.200000047683716}),
        Row(3, {"w": 1.7200000286102295, "w.grad": -2.559999942779541}),
    ],
)
ERROR = RunError("RuntimeError", "Trying to backward through the graph a second time", 2)
TWICE_RUN = VariantResult("backward-twice", "main", ["w.grad"], [Row(1, {"w.grad": 3.0})], ERROR)


def test_each_blank_within_the_tolerance_is_right() -> None:
    cells = grade_cells(TABLE, [1.4, -3.2], SGD_RUN)
    assert [(c.correct, c.expected) for c in cells] == [
        (True, 1.399999976158142),
        (True, -3.200000047683716),
    ]
    # The question's tolerance is 0.01: 1.409 passes, 1.411 does not.
    assert [c.correct for c in grade_cells(TABLE, [1.409, -3.2], SGD_RUN)] == [True, True]
    assert [c.correct for c in grade_cells(TABLE, [1.411, -3.2], SGD_RUN)] == [False, True]


def test_the_default_tolerance_is_one_thousandth() -> None:
    strict = replace(TABLE, answer=None)
    assert [c.correct for c in grade_cells(strict, [1.4009, -3.2011], SGD_RUN)] == [True, False]
    assert replace(TABLE, answer=TraceAnswer(0.5)).trace_tolerance == 0.5


def test_right_only_when_every_blank_is() -> None:
    assert grading.grade(TABLE, Cells((1.4, -3.2)), {"main": SGD_RUN}) == grading.Verdict(
        True, "2 of 2 cells right."
    )
    assert grading.grade(TABLE, Cells((1.4, 3.2)), {"main": SGD_RUN}) == grading.Verdict(
        False, "1 of 2 cells right; row 2, w.grad: PyTorch has -3.200000."
    )
    # A blank left empty is wrong; so is a word where a number belongs.
    assert not grading.grade(TABLE, Cells((1.4,)), {"main": SGD_RUN}).correct
    assert not grading.grade(TABLE, Cells((1.4, "RuntimeError")), {"main": SGD_RUN}).correct
    assert grading.grade(TABLE, Cells((1.4, -3.2)), {}) == grading.Verdict(
        False, "The experiment has not been run."
    )


def test_a_raises_blank_is_right_with_the_errors_type() -> None:
    assert grading.grade(TWICE, Cells((3.0, "RuntimeError")), {"main": TWICE_RUN}).correct
    verdict = grading.grade(TWICE, Cells((3.0, "ValueError")), {"main": TWICE_RUN})
    assert verdict == grading.Verdict(
        False, "1 of 2 cells right; row 2, error: PyTorch has RuntimeError."
    )
    assert expected(TWICE.blanks[1], TWICE_RUN) == "RuntimeError"
    assert Cells((3.0, "RuntimeError")).to_json() == [3.0, "RuntimeError"]


def test_a_one_element_tensor_is_one_number_a_longer_one_is_not() -> None:
    run = replace(SGD_RUN, rows=[Row(1, {"w": [[2.5]], "w.grad": [1.0, 2.0]})])
    assert expected(Blank(1, "w"), run) == 2.5
    assert expected(Blank(1, "w.grad"), run) is None


def check_messages(question: object, run: VariantResult) -> list[str]:
    return [p.message for p in grading.check(question, {"main": run})]  # type: ignore[arg-type]


def test_check_finds_blanks_the_run_does_not_have() -> None:
    short = replace(SGD_RUN, rows=SGD_RUN.rows[:1])
    assert check_messages(TABLE, short) == [
        "blank at row 2, w: the run has 1 row",
        "blank at row 2, w.grad: the run has 1 row",
    ]
    raised = replace(SGD_RUN, rows=SGD_RUN.rows[:1], error=ERROR)
    assert check_messages(TABLE, raised)[0] == (
        "blank at row 2, w: the run raises RuntimeError: Trying to backward through the graph "
        "a second time after 1 row"
    )
    vector = replace(SGD_RUN, rows=[SGD_RUN.rows[0], Row(2, {"w": [1.0, 2.0], "w.grad": None})])
    assert check_messages(TABLE, vector) == [
        "blank at row 2, w holds 2 values; a blank must hold one number",
        "blank at row 2, w.grad holds None; a blank must hold one number",
    ]
    assert check_messages(TABLE, SGD_RUN) == []


def test_check_finds_a_raises_blank_where_nothing_raises() -> None:
    clean = replace(TWICE_RUN, error=None)
    assert check_messages(TWICE, clean) == ["blank at row 2 says the run raises, but it does not"]
    later = replace(TWICE_RUN, rows=[*TWICE_RUN.rows, Row(2, {"w.grad": 6.0})])
    assert check_messages(TWICE, later) == [
        "blank at row 2 says the run raises there, but it raises after row 2 (so at row 3)"
    ]
    other = replace(TWICE_RUN, error=RunError("ZeroDivisionError", "boom", 2))
    assert check_messages(TWICE, other) == [
        "the run raises ZeroDivisionError at row 2, which the blank does not offer "
        "(RuntimeError, ValueError, TypeError, IndexError); add it to 'errors'"
    ]
    assert check_messages(TWICE, TWICE_RUN) == []


def test_a_visible_cell_equal_to_a_blank_gives_it_away() -> None:
    copied = replace(
        SGD_RUN,
        rows=[*SGD_RUN.rows[:2], Row(3, {"w": 1.72, "w.grad": -3.2004})],
    )
    (warning,) = giveaways(TABLE, copied)
    assert warning.severity == "warning"
    assert warning.location == TABLE.where("blanks")
    assert warning.message == (
        "blank at row 2, w.grad (-3.200000) is given away by row 3, w.grad, which shows the "
        "same number: blank that cell too, or choose another"
    )
    assert giveaways(TABLE, SGD_RUN) == []
    # Blanks never give each other away: both are hidden.
    assert lint.warnings(TABLE, {"main": SGD_RUN}) == []


def test_the_learner_sees_the_table_with_its_blanks_hidden() -> None:
    from gradquiz.blanks import HIDDEN, masked

    shown = masked(TABLE, SGD_RUN)
    assert [row.values for row in shown.rows] == [
        {"w": 1.0, "w.grad": -4.0},
        {"w": HIDDEN, "w.grad": HIDDEN},
        {"w": 1.7200000286102295, "w.grad": -2.559999942779541},
    ]
    hidden_error = masked(TWICE, TWICE_RUN)
    assert hidden_error.rows[0].values == {"w.grad": HIDDEN}
    assert hidden_error.error == RunError(HIDDEN, "", 2)
    # The run itself is left as it was, for grading.
    assert SGD_RUN.rows[1].values["w"] == 1.399999976158142
