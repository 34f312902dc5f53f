"""Pilot tests of the lab: what each variant says it is, the code it ran, the comparison, the
explanations, and the keys `[`, `]` and `z`, read off the screen as a learner would."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Static, Tab, TabbedContent
from textual_plotext import PlotextPlot

from gradquiz.format import Library
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.help import HelpScreen
from gradquiz.tui.widgets.answers import OrderAnswer
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.lab import (
    Card,
    Comparison,
    LabPanel,
    Layout,
    SharedSetup,
    VariantAbout,
    VariantNotes,
    VariantTable,
    VariantTables,
    layout_for,
    marker_shifts,
)
from gradquiz.tui.widgets.question import QuestionView
from gradquiz.variants import Heading
from tests.tui.conftest import MakeApp, settle, six_app
from tests.tui.test_app import arrange

SIZE = (120, 40)


def shown(widget: Widget) -> str:
    """The widget's lines as they are on the screen, trailing blanks dropped."""
    width, height = widget.size
    strips = widget.render_lines(Region(0, 0, width, height))
    return "\n".join(strip.text.rstrip() for strip in strips).strip("\n")


def cards(app: GradquizApp) -> dict[str, VariantTable]:
    return {table.variant: table for table in app.screen.query(VariantTable)}


def about(table: VariantTable) -> str:
    """A card's words as on the screen: heading, feedback, sentences; wrapped lines joined."""
    return " ".join(shown(table.query_one(VariantAbout)).split())


def heading(table: VariantTable) -> str:
    return shown(table.query_one(VariantAbout)).splitlines()[0]


def code(table: VariantTable) -> str:
    return shown(table.query_one(".variant-code", Static))


async def test_each_variant_says_what_it_is_and_the_lab_opens_on_the_pick(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        found = cards(app)
        assert list(found) == ["A", "B"]
        assert heading(found["A"]).startswith("A ✓ zero the gradient first")
        assert "your pick" not in heading(found["A"])
        assert heading(found["A"]).endswith("· baseline")
        assert heading(found["B"]) == "B ✗ just call backward · your pick"
        # Every choice's feedback, each with its own variant; under the variant that differs,
        # the sentence computed from the traces.
        assert about(found["A"]) == (
            "A ✓ zero the gradient first · baseline "
            "Clearing first leaves exactly one step's gradient."
        )
        assert about(found["B"]) == (
            "B ✗ just call backward · your pick Each backward adds 2 more, so it piles up. "
            "B differs from A first at step 2, in w.grad: [4.000000] against [2.000000]."
        )
        assert app.screen.query_one(VariantTables).current == "B"
        assert found["B"].has_class("-current") and not found["A"].has_class("-current")


async def test_code_beside_its_table_at_120_and_above_it_at_80(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        b = cards(app)["B"]
        assert "(2 * w).sum().backward()" in code(b)
        assert "'w.grad': w.grad" in code(b)
        assert "w.grad = None" not in code(b)
        assert "w.grad = None" in code(cards(app)["A"])
        snippet, table = b.query_one(".variant-code"), b.query_one(DataTable)
        assert snippet.region.right <= table.region.x
        assert snippet.region.y == table.region.y
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        b = cards(app)["B"]
        snippet, table = b.query_one(".variant-code"), b.query_one(DataTable)
        assert snippet.region.bottom <= table.region.y
        assert snippet.region.x == table.region.x


async def test_z_and_a_click_unfold_the_shared_setup(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # Before answering, the lab's keys are not offered.
        assert app.screen.check_action("setup", ()) is False
        await pilot.press("1", "enter")
        await settle(pilot)
        setup = app.screen.query_one(SharedSetup)
        folded = shown(setup)
        assert folded == "▸ setup: w = torch.tensor([1.0], requires_grad=True)  z unfolds"
        assert setup.size.height == 1
        await pilot.press("z")
        await pilot.pause()
        assert setup.unfolded and setup.size.height > 1
        await pilot.click(SharedSetup)
        await pilot.pause()
        assert not setup.unfolded and setup.size.height == 1


async def test_brackets_switch_variants_in_tabs(
    six_library: Library, shared_lab: SharedLab
) -> None:
    app = six_app(six_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "enter")
        await settle(pilot)
        # Six tables do not fit 120 columns: one tab each, opened on the pick.
        tabs = app.screen.query_one(TabbedContent)
        tables = app.screen.query_one(VariantTables)
        assert tables.current == "C"
        assert tabs.active == "variant-2"
        await pilot.press("right_square_bracket")
        assert tables.current == "D" and tabs.active == "variant-3"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert tables.current == "B" and tabs.active == "variant-1"
        await pilot.press(*["left_square_bracket"] * 2)
        assert tables.current == "F"  # wraps around
        bar = app.screen.query_one(KeyBar)
        # At 120 columns the last keys lose their words, never their keys.
        assert "[ ]" in str(bar.render())
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = shown(app.screen.query_one("#keys", Static))
        assert "Variant: the previous one in the lab" in keys and "Next variant" in keys


async def test_six_tables_side_by_side_once_they_fit(
    six_library: Library, shared_lab: SharedLab
) -> None:
    app = six_app(six_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        assert app.screen.query(TabbedContent)
        await pilot.resize_terminal(240, 50)
        await pilot.pause()
        await pilot.pause()
        assert not app.screen.query(TabbedContent)
        found = cards(app)
        assert len(found) == 6
        assert found["B"].has_class("-current")
        # Side by side, `]` moves the highlight.
        await pilot.press("right_square_bracket")
        assert found["C"].has_class("-current") and not found["B"].has_class("-current")


async def test_headings_gloss_and_hostile_text(six_library: Library, shared_lab: SharedLab) -> None:
    app = six_app(six_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "3", "enter")
        await settle(pilot)
        assert app.screen.query_one(VariantTables).current == "A"
        seen = {}
        for _ in range(6):
            # One tab at a time: read the card on display, then `]` to the next.
            (table,) = [t for t in cards(app).values() if t.region]
            seen[table.variant] = (
                shown(table.query_one(VariantAbout)).split("\n\n"),
                shown(table.query_one(VariantNotes)) if table.query(VariantNotes) else "",
            )
            await pilot.press("right_square_bracket")
            await pilot.pause()
        assert list(seen) == ["A", "B", "C", "D", "E", "F"]
        # Rich markup in a choice's text is shown as written, not obeyed.
        assert seen["C"][0][0].splitlines()[0] == "C ✗ [red]never[/red] clear · your pick"
        assert seen["A"][0][0].splitlines()[0] == "A ✓ `w.grad = None` first · your pick · baseline"
        assert seen["F"][0][0] == "F ✗ a cut graph"
        notes = seen["D"][1].replace("\n", " ")
        assert notes.startswith("✗ RuntimeError")
        assert "What it means: The first backward() freed the graph" in notes
        assert "retain_graph=True on the first" in notes
        sentences = {v: " ".join(words[-1].split()) for v, (words, _) in seen.items()}
        assert sentences["B"] == "B behaves like A: max |Δ| = 0 over 6 cells."
        assert "a sign flip" in sentences["E"]
        assert "None against values" in sentences["F"]
        assert sentences["D"].startswith("D raises RuntimeError at step 2 and A does not")


async def test_comparison_puts_the_right_variant_first(
    six_library: Library, shared_lab: SharedLab
) -> None:
    app = six_app(six_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "enter")
        await settle(pilot)
        table = shown(app.screen.query_one("#compare-table", Static))
        lines = table.splitlines()
        assert lines[0].startswith("w.grad in every variant, the right one first")
        assert lines[1].split() == [
            "step",
            "A",
            "✓",
            "B",
            "✓",
            "C",
            "✗",
            "D",
            "✗",
            "E",
            "✗",
            "F",
            "✗",
        ]
        # Step 2: C has piled up to 6 and is marked; A and B agree.
        step2 = lines[3]
        assert step2.startswith("2")
        assert "[6.000000, 6.000000] ≠" in step2
        assert step2.count("[3.000000, 3.000000]") == 2
        assert "✗ RuntimeError ≠" in step2
        comparison = app.screen.query_one(Comparison)
        assert comparison.column == "w.grad"
        assert lines[0].endswith("c or click: next column (1/2)")
        # Two numbers a cell: nothing to draw as one line; `n` has a line to draw.
        plot = app.screen.query_one(PlotextPlot)
        assert not plot.display
        await pilot.press("c")
        assert comparison.column == "n"
        rows = shown(app.screen.query_one("#compare-table", Static)).splitlines()
        assert rows[0].startswith("n in every variant")
        assert rows[2].split() == ["1", *["2"] * 6]
        assert plot.display
        await pilot.click("#compare-table")
        assert comparison.column == "w.grad"


async def test_no_plot_for_a_one_row_run(make_app: MakeApp) -> None:
    app = make_app("true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t", "enter")
        await settle(pilot)
        assert app.screen.query(VariantTable)
        assert not app.screen.query(PlotextPlot)
        assert not app.screen.query(Comparison)


async def test_the_plot_follows_the_compared_column(make_app: MakeApp) -> None:
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        comparison = app.screen.query_one(Comparison)
        assert comparison.plottable == ["w.grad"]
        plot = app.screen.query_one(PlotextPlot)
        # Two variants, each its own marker, at integer steps.
        assert "w.grad" in shown(app.screen.query_one("#compare-table", Static))
        assert plot.display
        plot.scroll_visible(animate=False)
        await pilot.pause()
        lines = shown(plot).splitlines()
        assert lines[0].split() == ["w.grad", "o", "A", "x", "B"]
        # At step 1 both gradients are 2: the two markers side by side, neither hidden.
        # At step 1 both gradients are 2: the two markers side by side, neither hidden.
        (two,) = [line for line in lines if line.startswith("2.00┤")]
        assert two.split("┤")[1].lstrip().startswith("ox")
        assert lines[-2].split() == ["1", "2", "3"]


async def test_untrusted_pack_shows_its_code_and_runs_nothing(make_app: MakeApp) -> None:
    app = make_app(trusted=lambda question: False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await pilot.press("n")  # not trusted: nothing runs
        await settle(pilot)
        assert app.quiz.runs == {}
        note = shown(app.screen.query_one(".lab-note", Static))
        assert note.startswith("Not trusted: code not run.")
        found = cards(app)
        assert list(found) == ["A", "B"]
        assert heading(found["B"]) == "B ✗ just call backward · your pick"
        assert "(2 * w).sum().backward()" in code(found["B"])
        assert not app.screen.query(DataTable)
        assert "w = torch.tensor" in shown(app.screen.query_one(SharedSetup))


async def test_untrusted_code_is_there_to_read_before_answering(
    six_library: Library, shared_lab: SharedLab
) -> None:
    app = six_app(six_library, shared_lab, trusted=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(LabPanel)
        assert panel.display and app.quiz.runs == {}
        note = shown(panel.query_one(".lab-note", Static))
        assert note.startswith("The code each variant would run (nothing runs until")
        tabs = app.screen.query_one(TabbedContent)
        # Nothing says which is right before the answer: no marks, no feedback.
        assert [str(tab.label) for tab in tabs.query(Tab)] == list("ABCDEF")
        (a,) = cards(app).values()
        assert about(a) == "A `w.grad = None` first"
        assert code(a).splitlines()[1:3] == ["2 w.grad = None", "3 (scale * w).sum().backward()"]
        assert "'n': w.numel()" in code(a)
        assert app.screen.check_action("variant", ()) is True
        await pilot.press("right_square_bracket")
        await pilot.pause()
        b = cards(app)["B"]
        assert about(b) == "B zero it in place" and "w.grad.zero_()" in code(b)
        await pilot.press("z")
        await pilot.pause()
        assert "scale = 3.0" in shown(app.screen.query_one(SharedSetup))
        assert not app.screen.query(DataTable)
        await pilot.press("1", "2", "enter", "n")
        await settle(pilot)
        assert app.quiz.runs == {}
        assert heading(cards(app)["A"]) == "A ✓ `w.grad = None` first · your pick"


async def test_untrusted_order_question_hides_the_arrangement_before_answering(
    make_app: MakeApp,
) -> None:
    app = make_app("arrange", trusted=lambda question: False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        question = app.quiz.question
        assert question is not None
        (reference,) = cards(app).values()
        text = code(reference)
        # The step code is the answer: its place is shown, its lines are not.
        assert "each step" in text and "the lines you put in order" in text
        assert not any(line.strip() in text for line in question.lines)


async def test_trusting_before_answering_puts_the_code_away_until_answered(
    six_library: Library, shared_lab: SharedLab
) -> None:
    app = six_app(six_library, shared_lab, trusted=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one(LabPanel).display
        await pilot.press("T", "y")
        await settle(pilot)
        panel = app.screen.query_one(LabPanel)
        assert not panel.display and app.quiz.results("six")
        assert app.screen.check_action("variant", ()) is False
        await pilot.press("3", "enter")
        await settle(pilot)
        assert panel.display
        assert heading(cards(app)["C"]).startswith("C ✗")
        assert cards(app)["C"].query(DataTable)


async def test_order_shows_the_right_arrangement_next_to_yours(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(QuestionView)
        lines = view.question.lines
        await arrange(
            pilot, app.screen.query_one(OrderAnswer), [lines[1], lines[2], lines[0], lines[3]]
        )
        await pilot.press("enter")
        await settle(pilot)
        text = shown(app.screen.query_one("#arrangement", Static))
        rows = text.splitlines()
        assert rows[0].split() == ["#", "the", "right", "order", "yours"]
        assert rows[1].startswith("1  optimizer.zero_grad()") and rows[1].endswith("≠")
        assert rows[4].split()[-1] == "optimizer.step()"
        assert heading(cards(app)["yours"]).startswith("yours")
        assert "your pick" in heading(cards(app)["yours"])
        assert app.screen.query_one(VariantTables).current == "yours"


async def test_a_right_arrangement_shows_no_second_one(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(QuestionView)
        await arrange(pilot, app.screen.query_one(OrderAnswer), list(view.question.lines))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one(LabPanel).tables() is not None
        assert not app.screen.query("#arrangement")


def _card(table: int, code_lines: str) -> Card:
    return Card(
        Heading("A", None, None, None, picked=False, reference=False), None, code_lines, table
    )


def test_layout_from_measured_widths() -> None:
    # A 20-column table and 22 columns of code (24 with its line number): 46 beside.
    narrow = _card(20, "x" * 22)
    assert narrow.beside() == 24 + 20 + 2
    assert layout_for([narrow] * 2, 120) == Layout.SIDE_BY_SIDE_BESIDE
    # Four narrow tables fit 120 with their code above (today's fixed 56 sent them to tabs).
    assert layout_for([narrow] * 4, 120) == Layout.SIDE_BY_SIDE
    assert layout_for([narrow] * 6, 120) == Layout.TABS_BESIDE
    assert layout_for([narrow] * 6, 40) == Layout.TABS


def test_markers_of_coinciding_points_sit_a_column_apart() -> None:
    # Ten steps on 70 columns: 64 / 9 columns a step, room for four markers a column apart.
    per_step = 64 / 9
    assert marker_shifts(4, 1, 10, 70) == pytest.approx(
        [-2 / per_step, -1 / per_step, 0, 1 / per_step]
    )
    # Thirty steps: a step is two columns, six markers share it without reaching the next.
    shifts = marker_shifts(6, 1, 30, 70)
    assert shifts[-1] - shifts[0] < 1
    assert marker_shifts(1, 1, 10, 70) == [0.0]
