"""Sentences that explain a difference, from hand-built traces and from real runs of the bank."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gradquiz import difference, locations
from gradquiz.difference import Pattern
from gradquiz.format import load
from gradquiz.format.model import Question
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import Row, RunError, VariantResult, requests_for

BANK = load([locations.bundled_questions()])


def trace(
    variant: str, column: str, values: list[Any], error: RunError | None = None
) -> VariantResult:
    rows = [Row(step, {column: value}) for step, value in enumerate(values, start=1)]
    return VariantResult("q", variant, [column], rows, error)


def bank(question_id: str) -> Question:
    question = BANK.get(question_id)
    assert question is not None
    return question


def run(lab: Lab, question: Question) -> dict[str, VariantResult]:
    return {r.variant: r for r in lab.run_all(requests_for(question))}


def test_gradients_piling_up_grow_the_gap() -> None:
    cleared = trace("A", "w.grad", [[-0.5], [-0.5], [-0.5], [-0.5]])
    piled = trace("B", "w.grad", [[-0.5], [-1.0], [-1.5], [-2.0]])
    found = difference.compare(piled, cleared, 1e-6)
    assert not found.same
    assert found.first == difference.FirstCell(2, "w.grad", [-1.0], [-0.5])
    assert found.patterns == (Pattern.GROWING,)
    assert found.sentence == (
        "B differs from A first at step 2, in w.grad: [-1.000000] against [-0.500000]; "
        "the gap grows with the step (gradients piling up)."
    )


def test_a_growing_gap_outside_gradients_has_no_gradient_meaning() -> None:
    found = difference.compare(trace("B", "w", [1.0, 2.0, 4.0]), trace("A", "w", [0.5] * 3), 0.0)
    assert found.sentence.endswith("; the gap grows with the step.")


def test_a_gap_that_shrinks_is_not_growing() -> None:
    found = difference.compare(trace("B", "w", [3.0, 2.0, 4.0]), trace("A", "w", [0.0] * 3), 0.0)
    assert Pattern.GROWING not in found.patterns


def test_none_against_zeros_is_set_to_none() -> None:
    found = difference.compare(trace("B", "w.grad", [None]), trace("A", "w.grad", [[0.0, 0.0]]), 0)
    assert found.patterns == (Pattern.NONE_VS_ZEROS,)
    assert found.sentence == (
        "B differs from A first at step 1, in w.grad: None against [0.000000, 0.000000]; "
        "None against zeros (set_to_none: cleared to None, or zeroed in place)."
    )


def test_zero_against_non_zero_is_a_cut_graph() -> None:
    found = difference.compare(
        trace("B", "x.grad", [[0.0, 0.0]]), trace("A", "x.grad", [[1, 2]]), 0
    )
    assert found.patterns == (Pattern.ZERO_VS_NONZERO,)
    assert "zero against non-zero (a cut graph: no_grad, detach)" in found.sentence


def test_zero_against_nan_is_no_cut_graph() -> None:
    found = difference.compare(
        trace("B", "x.grad", [[0.0]]), trace("A", "x.grad", [[float("nan")]]), 0
    )
    assert found.patterns == ()
    assert (
        found.sentence == "B differs from A first at step 1, in x.grad: [0.000000] against [nan]."
    )


def test_sign_flip_and_constant_factor() -> None:
    flipped = difference.compare(trace("B", "g", [-3.0]), trace("A", "g", [3.0]), 1e-6)
    assert flipped.patterns == (Pattern.SIGN_FLIP,)
    assert flipped.sentence.endswith("-3.000000 against 3.000000; a sign flip.")
    doubled = difference.compare(trace("B", "g", [[2.0, 4.0]]), trace("A", "g", [[1, 2]]), 1e-6)
    assert doubled.sentence.endswith("; a constant factor: 2× throughout.")
    # One pair of numbers always has a ratio: that is no pattern.
    once = difference.compare(trace("B", "loss", [18.4]), trace("A", "loss", [150.0]), 1e-6)
    assert once.patterns == ()


def test_values_that_round_alike_are_shown_with_more_digits() -> None:
    found = difference.compare(trace("B", "g", [1.0000003]), trace("A", "g", [1.0]), 1e-7)
    assert (
        found.sentence == "B differs from A first at step 1, in g: 1.000000300 against 1.000000000."
    )


def test_an_error_on_one_side_only() -> None:
    error = RunError("RuntimeError", "Trying to backward through the graph a second time", 2)
    broken = trace("C", "x.grad", [[4.0]], error)
    fine = trace("A", "x.grad", [[4.0], [4.0]])
    found = difference.compare(broken, fine, 1e-6)
    assert found.patterns == (Pattern.ERROR,)
    assert (
        found.sentence == "C raises RuntimeError at step 2 and A does not; the cell before agrees."
    )
    held = difference.compare(fine, broken, 1e-6)
    assert (
        held.sentence == "C raises RuntimeError at step 2 and A does not; the cell before agrees."
    )


def test_a_difference_then_an_error() -> None:
    error = RunError("TypeError", "unsupported operand", 2)
    found = difference.compare(trace("C", "w", [1.0], error), trace("A", "w", [2.0, 3.0]), 1e-6)
    assert found.sentence == (
        "C differs from A first at step 1, in w: 1.000000 against 2.000000; "
        "then C raises TypeError at step 2 and A does not."
    )


def test_same_traces_report_the_largest_difference() -> None:
    a = VariantResult("q", "A", ["w", "b"], [Row(s, {"w": 1.0, "b": 2.0}) for s in (1, 2, 3)])
    b = replace(a, variant="B", rows=[Row(s, {"w": 1.0, "b": 2.0 + 3e-8}) for s in (1, 2, 3)])
    found = difference.compare(b, a, 1e-6)
    assert found.same and found.cells == 6 and found.max_delta == pytest.approx(3e-8)
    assert found.sentence == (
        "B behaves like A: max |Δ| = 3e-08 over 6 cells (within the tolerance 1e-06)."
    )
    exact = difference.compare(a, a, 1e-6)
    assert exact.sentence == "A behaves like A: max |Δ| = 0 over 6 cells."


def test_same_errors_and_no_rows() -> None:
    error = RunError("RuntimeError", "boom", 1)
    found = difference.compare(trace("B", "w", [], error), trace("A", "w", [], error), 1e-6)
    assert found.same and found.sentence == "B behaves like A: both raise RuntimeError at step 1."


def test_two_columns_of_one_trace() -> None:
    result = VariantResult(
        "q", "main", ["w1", "w2"], [Row(1, {"w1": 1.0, "w2": 1.0}), Row(2, {"w1": 2, "w2": 3})]
    )
    found = difference.compare_columns(result, "w2", "w1", 0.0)
    assert found.sentence == "w2 differs from w1 first at step 2: 3 against 2."


def test_glosses_name_the_common_autograd_errors() -> None:
    def gloss(message: str) -> str | None:
        return difference.gloss(RunError("RuntimeError", message, 1))

    assert "retain_graph=True" in (
        gloss("Trying to backward through the graph a second time") or ""
    )
    version = gloss(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.FloatTensor [3]] is at version 1"
    )
    assert version is not None and "version counter" in version
    leaf = gloss("a leaf Variable that requires grad is being used in an in-place operation.")
    assert leaf is not None and "torch.no_grad()" in leaf and "slice" not in leaf
    view = gloss(
        "a view of a leaf Variable that requires grad is being used in an in-place operation."
    )
    assert view is not None and "slice" in view
    no_fn = gloss("element 0 of tensors does not require grad and does not have a grad_fn")
    assert no_fn is not None and "no recorded operation" in no_fn
    assert gloss("something nobody has seen") is None


def test_same_claims_from_verify_and_from_the_prompt() -> None:
    assert difference.same_claims(bank("zero-grad-top-or-bottom-same-from-clean-start")) == [
        ("w2", "w1"),
        ("loss2", "loss1"),
    ]
    assert difference.same_claims(bank("sgd-weight-decay-equals-l2-loss")) == [
        ("w2 (L2 term in the loss)", "w1 (weight_decay=0.2)")
    ]
    # Paired labels, but the prompt claims no sameness ("trains faster").
    assert difference.same_claims(bank("zero-grad-forgotten-trains-faster")) == []


def test_real_zero_grad_question(lab: Lab) -> None:
    question = bank("zero-grad-forgotten-bce-grad-piles-up")
    explained = difference.explain(question, run(lab, question))
    assert explained["B"] == []
    assert explained["A"][0].sentence == (
        "A differs from B first at step 2, in w.grad: [-0.585088] against [-1.173027]; "
        "the gap grows with the step (gradients piling up)."
    )
    assert explained["D"][0].first is not None and explained["D"][0].first.step == 3


def test_real_same_claims(lab: Lab) -> None:
    question = bank("zero-grad-equivalent-clearing-lines")
    explained = difference.explain(question, run(lab, question))
    assert explained["B"][0].sentence == "B behaves like A: max |Δ| = 0 over 10 cells."
    assert Pattern.GROWING in explained["E"][0].patterns
    tf = bank("zero-grad-top-or-bottom-same-from-clean-start")
    sentences = [d.sentence for d in difference.explain(tf, run(lab, tf))["main"]]
    assert sentences == [
        "w2 behaves like w1: max |Δ| = 0 over 10 cells.",
        "loss2 behaves like loss1: max |Δ| = 0 over 10 cells.",
    ]


def test_real_errors_and_set_to_none(lab: Lab) -> None:
    question = bank("retain-graph-jvp-zero-then-third-call")
    results = run(lab, question)
    assert difference.explain(question, results)["C"][0].sentence == (
        "C raises RuntimeError at step 2 and A does not; the cell before agrees."
    )
    error = results["C"].error
    assert error is not None and "retain_graph=True" in (difference.gloss(error) or "")
    decay = bank("optimizers-weight-decay-needs-grad")
    explained = difference.explain(decay, run(lab, decay))
    assert explained["A"][0].patterns == (Pattern.NONE_VS_ZEROS,)


def test_columns_only_one_side_watches_are_named() -> None:
    mine = VariantResult("q", "yours", ["w", "extra"], [Row(1, {"w": 1.0, "extra": 5})])
    theirs = VariantResult("q", "B", ["w"], [Row(1, {"w": 1.0})])
    found = difference.compare(mine, theirs, 1e-6)
    assert not found.same
    assert (
        found.sentence == "yours agrees with B: max |Δ| = 0 over 1 cell; only yours watches extra."
    )


def test_differing_cells_are_marked_by_row_and_column() -> None:
    a = VariantResult(
        "q", "A", ["w", "g"], [Row(1, {"w": 1.0, "g": 2.0}), Row(2, {"w": 1, "g": 3})]
    )
    b = VariantResult("q", "B", ["w", "g"], [Row(1, {"w": 1.0, "g": 2.5})])
    assert difference.differing_cells(a, b, 1e-6) == {(0, "g"), (1, "w"), (1, "g")}


def test_of_the_cells_that_differ_first_the_telling_one_is_named() -> None:
    mine = VariantResult("q", "B", ["w", "w.grad"], [Row(1, {"w": 1.0, "w.grad": None})])
    theirs = VariantResult("q", "A", ["w", "w.grad"], [Row(1, {"w": 1.5, "w.grad": [2.0]})])
    found = difference.compare(mine, theirs, 1e-6)
    assert found.first == difference.FirstCell(1, "w.grad", None, [2.0])
    # Without a pattern anywhere, the first column in reading order.
    plain = VariantResult("q", "A", ["w", "w.grad"], [Row(1, {"w": 1.5, "w.grad": [3.0]})])
    other = VariantResult("q", "B", ["w", "w.grad"], [Row(1, {"w": 1.0, "w.grad": [2.0]})])
    assert difference.compare(other, plain, 1e-6).first == difference.FirstCell(1, "w", 1.0, 1.5)
