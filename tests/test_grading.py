from __future__ import annotations

import math

from gradquiz import grading
from gradquiz.format import load
from gradquiz.format.model import Question
from gradquiz.lab.protocol import Outcome, Row, RunError, VariantResult
from tests.conftest import PACKS

LIBRARY = load([PACKS / "good.yaml"])


def question(question_id: str) -> Question:
    found = LIBRARY.get(question_id)
    assert found is not None
    return found


def result(
    variant: str,
    values: list[dict[str, object]],
    error: RunError | None = None,
    verify: object = None,
    answer: object = None,
) -> VariantResult:
    return VariantResult(
        "q",
        variant,
        list(values[0]) if values else [],
        [Row(i + 1, v) for i, v in enumerate(values)],
        error,
        verify=None if verify is None else Outcome(value=verify),
        answer=None if answer is None else Outcome(value=answer),
    )


def test_values_equal_within_tolerance_and_nan() -> None:
    assert grading.values_equal([[1.0, 2.0]], [[1.0, 2.0000005]], 1e-6)
    assert not grading.values_equal([[1.0, 2.0]], [[1.0, 2.00001]], 1e-6)
    assert grading.values_equal(math.nan, math.nan, 0)
    assert not grading.values_equal([1.0], [1.0, 2.0], 1)
    assert not grading.values_equal(True, 1, 1)
    assert not grading.values_equal(None, 0.0, 1)
    assert grading.values_equal("<x>", "<x>", 0)


def test_traces_compare_rows_steps_and_errors() -> None:
    a = result("a", [{"g": 1.0}, {"g": 2.0}])
    assert grading.traces_equal(a, result("b", [{"g": 1.0}, {"g": 2.0}]), 0)
    assert not grading.traces_equal(a, result("b", [{"g": 1.0}]), 0)
    boom = RunError("RuntimeError", "boom", 2)
    assert not grading.traces_equal(a, result("b", [{"g": 1.0}, {"g": 2.0}], boom), 0)
    assert grading.traces_equal(result("a", [{"g": 1.0}], boom), result("b", [{"g": 1.0}], boom), 0)


def test_same_as_proves_the_choices_equal_to_the_anchor() -> None:
    q = question("reduction")
    results = {
        "A": result("A", [{"w.grad": 2.0}]),
        "B": result("B", [{"w.grad": 1.0}]),
        "C": result("C", [{"w.grad": 2.0}]),
    }
    assert grading.proven(q, results) == {"A", "C"}
    assert grading.check(q, results) == []
    results["B"] = result("B", [{"w.grad": 2.0}])
    [problem] = grading.check(q, results)
    assert problem.message == "answer key says A, C but the experiment proves A, B, C"
    assert problem.location.line == q.where("answer").line


def test_expr_verify_per_variant_and_truefalse() -> None:
    q = question("accumulate")
    results = {"A": result("A", [], verify=False), "B": result("B", [], verify=True)}
    assert grading.proven(q, results) == {"B"}
    assert grading.check(q, results) == []
    tf = question("retain")
    [problem] = grading.check(tf, {"main": result("main", [], verify=False)})
    assert problem.message == "answer key says true but the experiment shows false"


def test_verify_expr_errors_are_reported() -> None:
    q = question("retain")
    broken = VariantResult("q", "main", [], [], verify=Outcome(error="NameError: name 'z'"))
    [problem] = grading.check(q, {"main": broken})
    assert problem.message == "verify expr failed in main: NameError: name 'z'"


def test_numeric_value_is_checked_against_pytorch() -> None:
    q = question("step-rule")
    assert grading.check(q, {"main": result("main", [], answer=0.7000001)}) == []
    [problem] = grading.check(q, {"main": result("main", [], answer=0.8)})
    assert problem.message == "answer value is 0.7 but PyTorch computes 0.8"
    assert grading.numeric_value(q, {"main": result("main", [], answer=[[0.5]])}) == 0.5


def test_timeouts_are_problems_for_check() -> None:
    q = question("retain")
    timed_out = result("main", [], RunError("Timeout", "timed out after 10 s", 1))
    [problem] = grading.check(q, {"main": timed_out})
    assert problem.message == "variant main: Timeout: timed out after 10 s"


def test_grade_each_type() -> None:
    assert grading.grade(question("accumulate"), "B", {}).correct
    assert not grading.grade(question("accumulate"), "A", {}).correct
    assert grading.grade(question("reduction"), frozenset({"A", "C"}), {}).correct
    assert not grading.grade(question("reduction"), frozenset({"A"}), {}).correct
    assert grading.grade(question("retain"), True, {}).correct
    assert not grading.grade(question("retain"), False, {}).correct
    numeric = {"main": result("main", [], answer=0.7)}
    assert grading.grade(question("step-rule"), 0.7005, numeric).correct
    verdict = grading.grade(question("step-rule"), 0.702, numeric)
    assert not verdict.correct
    assert verdict.detail == "PyTorch computes 0.7 (accepted within ±0.001)."


def test_order_is_graded_by_trace() -> None:
    q = question("loop-order")
    reference = result("reference", [{"w": [0.7]}, {"w": [0.4]}])
    same = result("yours", [{"w": [0.7]}, {"w": [0.4]}])
    other = result("yours", [{"w": [0.7]}, {"w": [0.1]}])
    assert grading.grade(q, ("a",), {"reference": reference, "yours": same}).correct
    assert not grading.grade(q, ("a",), {"reference": reference, "yours": other}).correct
    assert grading.variant_correct(q, "yours", {"reference": reference, "yours": other}) is False
    assert grading.variant_correct(q, "reference", {}) is True
