"""The lab's data for each variant: headings, code, one column across variants, widths."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gradquiz import difference, variants
from gradquiz.format import load
from gradquiz.format.model import Question, Text
from gradquiz.lab.protocol import Row, RunError, VariantResult
from gradquiz.variants import Slot, SlotKind
from tests.conftest import PACKS

LIBRARY = load([PACKS / "good.yaml"])


def question(question_id: str) -> Question:
    found = LIBRARY.get(question_id)
    assert found is not None
    return found


def result(
    variant: str, rows: list[tuple[int, dict[str, Any]]], error: RunError | None = None
) -> VariantResult:
    columns = list(rows[0][1]) if rows else ["w.grad"]
    return VariantResult("q", variant, columns, [Row(s, v) for s, v in rows], error)


ACCUMULATE = {
    "A": result("A", [(1, {"w.grad": [[-0.5]]}), (2, {"w.grad": [[-0.5]]})]),
    "B": result("B", [(1, {"w.grad": [[-0.5]]}), (2, {"w.grad": [[-1.0]]})]),
}


def test_headings_say_what_each_variant_is() -> None:
    found = variants.headings(question("accumulate"), ACCUMULATE, response="A")
    a, b = found["A"], found["B"]
    assert (a.text, a.correct, a.picked, a.reference) == (
        "zero_grad every step",
        False,
        True,
        False,
    )
    assert (b.text, b.correct, b.picked, b.reference) == ("no zero_grad", True, False, True)
    assert a.line() == "A ✗ zero_grad every step · your pick"
    assert b.line() == "B ✓ no zero_grad"
    assert a.feedback is not None and b.feedback is None


def test_headings_in_another_language() -> None:
    q = question("accumulate")
    bilingual = Text({"en": "zero_grad every step", "zh": "每一步都调用 zero_grad"})
    q = replace(q, choices=(replace(q.choices[0], text=bilingual), q.choices[1]))
    assert variants.headings(q, ACCUMULATE, language="zh")["A"].text == "每一步都调用 zero_grad"


def test_a_heading_line_escapes_what_the_pack_wrote() -> None:
    heading = variants.Heading("A\x1b[2J", "[bold]x[/bold]\nforged", None, None, False, False)
    assert heading.line() == "A\\x1b[2J [bold]x[/bold]\\x0aforged"


def test_the_lab_opens_on_the_pick_else_the_right_variant() -> None:
    q = question("accumulate")
    assert variants.opening_variant(q, ACCUMULATE, "A") == "A"
    assert variants.opening_variant(q, ACCUMULATE) == "B"
    multiple = question("reduction")
    assert variants.picked_variants(multiple, frozenset({"B", "C"})) == {"B", "C"}
    order = question("loop-order")
    assert variants.picked_variants(order, ("a", "b")) == {"yours"}
    assert variants.picked_variants(question("retain"), True) == frozenset()


def test_the_right_arrangement_next_to_the_learners() -> None:
    order = question("loop-order")
    right = list(order.lines)
    yours = [right[1], right[0], "optimizer.zero_grad()  # twice", *right[2:]]
    rows = variants.arrangement_rows(order, yours)
    assert [(r.right, r.yours) for r in rows[:2]] == [(right[0], right[1]), (right[1], right[0])]
    assert rows[2].distractor and not rows[0].distractor
    assert rows[-1].right is None and rows[-1].yours == right[-1]
    assert all(r.same for r in variants.arrangement_rows(order, right))


def test_the_code_each_variant_ran() -> None:
    q = question("accumulate")
    codes = variants.variant_codes(q)
    assert list(codes) == ["A", "B"]
    a = codes["A"]
    assert a.own_step and a.step.source.startswith("optimizer.zero_grad()\n")
    assert a.step.origin.file.endswith("good.yaml") and a.step.origin.line > 1
    assert a.shared_setup is not None and a.shared_setup.source.startswith("model = ")
    assert a.watch is not None and [label for label, _ in a.watch] == ["w.grad", "w", "loss"]
    assert (a.steps, a.seed, a.setup) == (10, 0, None)
    main = variants.variant_codes(question("retain"))["main"]
    assert not main.own_step


def test_an_order_questions_code_has_the_learners_arrangement() -> None:
    order = question("loop-order")
    yours = list(reversed(order.lines))
    codes = variants.variant_codes(order, yours)
    assert codes["yours"].step.source == "\n".join(yours) + "\n"
    assert codes["reference"].step.source == "\n".join(order.lines) + "\n"


def test_folded_code_is_one_safe_line() -> None:
    code = variants.variant_codes(question("accumulate"))["A"].shared_setup
    assert code is not None
    lines = len([line for line in code.source.splitlines() if line.strip()])
    assert (
        variants.folded(code)
        == f"model = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())  … (+{lines - 1} lines)"
    )
    assert variants.folded(code, width=10) == f"model = n…  … (+{lines - 1} lines)"


def test_one_column_across_variants_the_right_one_first() -> None:
    q = question("accumulate")
    error = RunError("RuntimeError", "boom", 2)
    results = {
        "A": result("A", [(1, {"w.grad": 1.0})], error),
        "B": result("B", [(1, {"w.grad": 1.0}), (2, {"w.grad": 2.0}), (3, {"w.grad": 3.0})]),
    }
    comparison = variants.compare_column(q, results, "w.grad")
    assert comparison.variants == ("B", "A")
    assert [row.step for row in comparison.rows] == [1, 2, 3]
    assert comparison.rows[0].slots == (
        Slot(SlotKind.VALUE, 1.0),
        Slot(SlotKind.VALUE, 1.0),
    )
    assert comparison.rows[1].slots[1] == Slot(SlotKind.ERROR, error=error, differs=True)
    assert comparison.rows[1].slots[1].text == "✗ RuntimeError"
    assert comparison.rows[2].slots[1] == Slot(SlotKind.MISSING, differs=True)
    assert comparison.widths() == (4, 8, len("✗ RuntimeError ≠"))
    assert comparison.widths(["B ✓ a long heading", "A ✗"]) == (4, 18, len("✗ RuntimeError ≠"))


def test_several_records_in_a_step_line_up() -> None:
    q = question("accumulate")
    twice = result("A", [(1, {"g": 1.0}), (1, {"g": 2.0}), (2, {"g": 3.0}), (2, {"g": 4.0})])
    once = result("B", [(1, {"g": 1.0}), (2, {"g": 3.0})])
    comparison = variants.compare_column(q, {"A": twice, "B": once}, "g")
    assert [row.step for row in comparison.rows] == [1, 1, 2, 2]
    assert [row.slots[1].kind for row in comparison.rows] == [
        SlotKind.VALUE,
        SlotKind.VALUE,
        SlotKind.VALUE,
        SlotKind.VALUE,
    ]
    assert [row.slots[0].kind for row in comparison.rows] == [
        SlotKind.VALUE,
        SlotKind.MISSING,
        SlotKind.VALUE,
        SlotKind.MISSING,
    ]


def test_comparable_columns_in_first_seen_order() -> None:
    results = {"A": result("A", [(1, {"a": 1, "b": 2})]), "B": result("B", [(1, {"c": 1, "a": 2})])}
    assert variants.comparable_columns(results) == ["a", "b", "c"]


def test_measured_widths_of_a_variant_table() -> None:
    piled = ACCUMULATE["B"]
    assert variants.variant_widths(piled) == (4, len("[-0.500000]"))
    marked = difference.differing_cells(piled, ACCUMULATE["A"], 1e-6)
    assert marked == {(1, "w.grad")}
    assert variants.variant_widths(piled, marked) == (4, len("[-1.000000] ≠"))
    # Wide characters take two cells; escaped controls take their escapes' width.
    assert variants.column_widths(["梯度", "a\x1b"], [["1", "2"]]) == (4, 5)
    assert variants.table_width((4, 11)) == 19
    assert variants.table_width((4, 11), cell_padding=0, borders=3) == 18


def test_variant_views_gather_what_the_lab_shows() -> None:
    q = question("accumulate")
    views = variants.variant_views(q, ACCUMULATE, response="A")
    a, b = views["A"], views["B"]
    assert a.heading.line() == "A ✗ zero_grad every step · your pick"
    assert a.code is not None and a.code.step.source.startswith("optimizer.zero_grad()")
    assert [d.sentence for d in a.differences] == [
        "A differs from B first at step 2, in w.grad: [-0.500000] against [-1.000000]."
    ]
    assert a.differing == {(1, "w.grad")} and b.differing == frozenset()
    assert a.widths == (4, len("[-0.500000] ≠")) and b.widths == (4, len("[-1.000000]"))
    assert a.gloss is None and b.differences == ()


def test_a_view_glosses_its_error() -> None:
    error = RunError("RuntimeError", "Trying to backward through the graph a second time", 2)
    broken = {"main": result("main", [(1, {"x.grad": 4.0})], error)}
    view = variants.variant_views(question("retain"), broken)["main"]
    assert view.gloss is not None and view.gloss.startswith("The first backward() freed")
