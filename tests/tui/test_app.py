"""Pilot tests: every question type and every key, driven as a learner would."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import (
    DataTable,
    Input,
    LoadingIndicator,
    Static,
    TabbedContent,
    Tree,
)
from textual_plotext import PlotextPlot

from gradquiz.format import load_first
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.dialogs import FullValueDialog, TrustDialog
from gradquiz.tui.screens.help import HelpScreen, key_table
from gradquiz.tui.screens.question_list import QuestionListScreen
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.answers import ChoiceAnswer, Incomplete, OrderAnswer, parse_number
from gradquiz.tui.widgets.lab import Comparison, LabPanel, VariantTable
from gradquiz.tui.widgets.prose import Prose
from gradquiz.tui.widgets.question import QuestionView
from tests.tui.conftest import PACKS, MakeApp, settle

SIZE = (120, 40)


def view(app: GradquizApp) -> QuestionView:
    return app.screen.query_one(QuestionView)


def toasts(app: GradquizApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


def text_of(app: GradquizApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_opens_on_the_first_question(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.title == "gradquiz"
        assert isinstance(app.screen, QuizScreen)
        assert view(app).question.id == "accumulate"
        assert "1/7" in text_of(app, "#where")
        await settle(pilot)


async def test_reads_the_other_files_after_showing_the_first_question(
    make_app: MakeApp, shared_lab: SharedLab
) -> None:
    first = load_first([PACKS])
    assert first.pending  # basics.yaml is read, trouble.yaml is not
    app = GradquizApp(first, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        assert view(app).question.id == "accumulate"
        await pilot.press("p")  # wraps past the files read first: waits for the rest
        assert view(app).question.id == "loops"
        assert app.library.complete
        assert "7/7" in text_of(app, "#where")
        await settle(pilot)


async def test_opens_at_the_question_asked_for(make_app: MakeApp) -> None:
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        assert view(app).question.id == "how-much"
        await settle(pilot)


async def test_single_choice_number_keys_and_lab(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "2")
        answer = app.screen.query_one(ChoiceAnswer)
        assert answer.chosen_ids() == ["B"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.quiz.state("accumulate") == "wrong"
        verdict = text_of(app, "#verdict")
        assert "Not quite" in verdict and "The answer is A" in verdict
        lab = app.screen.query_one(LabPanel)
        markdown = " ".join(m.source for m in lab.query(Prose))
        assert "accumulates" in markdown
        tables = list(app.screen.query(VariantTable))
        assert [t.variant for t in tables] == ["A", "B"]
        # Side by side at 120 columns: no tabs.
        assert not app.screen.query(TabbedContent)
        b_table = tables[1].query_one(DataTable)
        assert "≠" in str(b_table.get_cell_at(Coordinate(1, 1)))
        assert "≠" not in str(tables[0].query_one(DataTable).get_cell_at(Coordinate(1, 1)))
        # The keys that picked are greyed out once answered.
        assert app.screen.check_action("pick", (1,)) is None
        assert app.screen.check_action("submit", ()) is None


async def test_click_picks_a_choice(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(".choice")
        assert app.screen.query_one(ChoiceAnswer).chosen_ids() == ["A"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.quiz.state("accumulate") == "right"


async def test_enter_without_a_pick_is_explained(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert "Pick an answer" in text_of(app, "#problem")
        assert "accumulate" not in app.quiz.answers
        await settle(pilot)


async def test_multiple_toggles(make_app: MakeApp) -> None:
    app = make_app("pick-many")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "3", "2", "3")
        assert app.screen.query_one(ChoiceAnswer).chosen_ids() == ["A", "B"]
        await pilot.press("enter")
        await settle(pilot)
        assert app.quiz.state("pick-many") == "right"


@pytest.mark.parametrize(("keys", "state"), [("t", "right"), ("f", "wrong"), ("2", "wrong")])
async def test_true_false_keys(make_app: MakeApp, keys: str, state: str) -> None:
    app = make_app("true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(keys, "enter")
        await settle(pilot)
        assert app.quiz.state("true-or-false") == state


def test_parse_number_accepts_the_usual_spellings() -> None:
    assert parse_number("-1.17") == -1.17
    assert parse_number("1e-3") == 0.001
    assert parse_number(" 200 ") == 200
    for bad in ("", "abc", "1,5", "inf"):
        with pytest.raises(Incomplete):
            parse_number(bad)


async def test_numeric_explains_bad_input_then_grades(make_app: MakeApp) -> None:
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        box = app.screen.query_one("#number", Input)
        assert box.has_focus
        await pilot.press("1", ",", "5", "enter")
        assert "not a number" in text_of(app, "#problem")
        assert "how-much" not in app.quiz.answers
        box.value = ""
        await pilot.press("6", ".", "0", "enter")
        await settle(pilot)
        assert app.quiz.state("how-much") == "right"
        assert "PyTorch computes 6" in text_of(app, "#verdict")


async def test_letter_keys_work_while_typing_a_number(make_app: MakeApp) -> None:
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        assert view(app).hints_shown == 1
        assert app.screen.query_one("#number", Input).value == ""
        await pilot.press("n")
        assert view(app).question.id == "arrange"
        await settle(pilot)


async def arrange(pilot: Pilot[None], widget: OrderAnswer, lines: list[str]) -> None:
    """Use `lines` in this order with the keyboard: move the cursor to each, press space."""
    for line in lines:
        target = len(widget.chosen) + widget.unused.index(line)
        while widget.cursor < target:
            await pilot.press("down")
        while widget.cursor > target:
            await pilot.press("up")
        await pilot.press("space")


async def test_order_arrangement_runs_and_grades(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        widget = app.screen.query_one(OrderAnswer)
        assert widget.has_focus
        question = view(app).question
        assert sorted(widget.unused) == sorted([*question.lines, *question.distractors])
        await pilot.press("enter")
        assert "at least one line" in text_of(app, "#problem")
        # zero_grad after backward: picked in the wrong order, then moved into place.
        await arrange(pilot, widget, [question.lines[1], question.lines[2], question.lines[0]])
        await arrange(pilot, widget, [question.lines[3]])
        # Using a line moves the cursor on, to the first unused line.
        assert widget.cursor == 4
        await pilot.press("up", "up", "shift+up", "u")
        assert widget.chosen == list(question.lines)
        await pilot.press("d", "shift+down")
        assert widget.chosen == [question.lines[i] for i in (1, 2, 0, 3)]
        await pilot.press("u", "u")
        assert widget.chosen == list(question.lines)
        await pilot.press("enter")
        await settle(pilot)
        assert app.quiz.state("arrange") == "right"
        variants = [t.variant for t in app.screen.query(VariantTable)]
        assert variants == ["reference", "yours"]


async def test_order_wrong_arrangement_is_marked(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        widget = app.screen.query_one(OrderAnswer)
        question = view(app).question
        await arrange(pilot, widget, [question.lines[0], question.lines[1], question.lines[3]])
        await pilot.press("enter")
        await settle(pilot)
        assert app.quiz.state("arrange") == "wrong"
        yours = next(t for t in app.screen.query(VariantTable) if t.variant == "yours")
        assert "≠" in str(yours.query_one(DataTable).get_cell_at(Coordinate(0, 1)))


async def test_hints_next_previous(make_app: MakeApp) -> None:
    # Its own lab: wrapping around lands on the looping question, whose run dies with the app.
    app = make_app(own_lab=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.check_action("hint", ()) is True
        await pilot.press("h")
        assert "Hint 1/2" in app.screen.query_one("#hints", Prose).source
        await pilot.press("h")
        assert "Hint 2/2" in app.screen.query_one("#hints", Prose).source
        await pilot.press("h")  # none left: said, not silent
        await pilot.pause()
        assert "That was the last hint (2 of 2)." in toasts(app)
        await pilot.press("n")
        assert view(app).question.id == "pick-many"
        await pilot.press("p", "p")
        assert view(app).question.id == "loops"


async def test_rerun_runs_again(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.quiz.results("accumulate")["A"]
        await pilot.press("1", "enter", "r")
        await settle(pilot)
        again = app.quiz.results("accumulate")["A"]
        assert again is not first and again.rows == first.rows
        assert app.screen.query(VariantTable)


async def test_help_lists_every_binding(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = " ".join(str(c) for column in key_table().columns for c in column.cells)
        listed = [
            *QuizScreen.BINDINGS,
            *OrderAnswer.BINDINGS,
            *QuestionListScreen.BINDINGS,
            *GradquizApp.BINDINGS,
        ]
        for binding in listed:
            assert not isinstance(binding, tuple)
            assert binding.description in shown
        assert "/ Find question list" in " ".join(
            " ".join(str(c) for c in row)
            for row in zip(*(col.cells for col in key_table().columns), strict=True)
        )
        rule = str(app.screen.query_one("#leech-rule", Static).render())
        assert rule.startswith("A question answered wrong 6 times (every wrong answer counts, even")
        assert "k, or opening it from the list, gives it a closer look" in rule
        await pilot.press("escape")
        assert isinstance(app.screen, QuizScreen)
        await settle(pilot)


async def test_question_list_shows_states_and_jumps(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "enter", "l")
        assert isinstance(app.screen, QuestionListScreen)
        tree = app.screen.query_one(Tree)
        labels = [str(node.label) for node in tree.root.children[0].children[0].children]
        assert labels[0].startswith("✓ right")
        leaves = [n for pack in tree.root.children for t in pack.children for n in t.children]
        target = next(n for n in leaves if n.data == "fails")
        tree.move_cursor(target)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        assert view(app).question.id == "fails"
        await settle(pilot)


async def test_command_palette_jumps_by_title(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"gradient of x squared")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert view(app).question.id == "how-much"
        await settle(pilot)


async def test_error_row_and_full_value(make_app: MakeApp) -> None:
    app = make_app("fails")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "enter")
        await settle(pilot)
        table_a = app.screen.query(VariantTable).first()
        data = table_a.query_one(DataTable)
        assert data.row_count == 2
        assert str(data.get_cell_at(Coordinate(1, 0))).startswith("✗ 2")
        assert "RuntimeError" in str(data.get_cell_at(Coordinate(1, 1)))
        data.focus()
        data.move_cursor(row=0, column=1)
        await pilot.press("enter")
        assert isinstance(app.screen, FullValueDialog)
        assert "2.0" in str(app.screen.query_one("#full-value", Static).render())
        await pilot.press("escape")
        assert isinstance(app.screen, QuizScreen)


async def test_plot_column_can_be_picked(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        widget = app.screen.query_one(OrderAnswer)
        await arrange(pilot, widget, list(view(app).question.lines))
        await pilot.press("enter")
        await settle(pilot)
        comparison = app.screen.query_one(Comparison)
        assert comparison.plottable == ["w"] and comparison.column == "w"
        assert app.screen.query_one(PlotextPlot).display


async def test_narrow_tables_sit_side_by_side_at_80(make_app: MakeApp) -> None:
    # Measured, two narrow tables fit 80 columns (a fixed 56 each sent them into tabs).
    app = make_app("fails")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        assert not app.screen.query(TabbedContent)
        assert len(app.screen.query_one("#side-by-side").children) == 2


async def test_too_small_terminal_says_so(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(50, 15)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-too-small")
        assert "needs at least 60×20" in text_of(app, "#too-small")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")
        await settle(pilot)


async def test_untrusted_pack_runs_nothing(make_app: MakeApp) -> None:
    app = make_app(trusted=lambda question: False)
    async with app.run_test(size=SIZE) as pilot:
        assert "not trusted" in text_of(app, "#lab-status")
        await pilot.press("1", "enter")
        # Submitting asks whether to trust the pack; no keeps it from running.
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("n")
        await settle(pilot)
        assert app.quiz.runs == {}
        assert app.quiz.state("accumulate") == "right"
        assert (
            "not trusted: code not run"
            in str(app.screen.query_one(".lab-note", Static).render()).lower()
        )


async def test_chinese_text_and_theme_toggle(make_app: MakeApp) -> None:
    app = make_app(language="zh")
    async with app.run_test(size=SIZE) as pilot:
        assert "梯度去哪儿了" in app.screen.query_one("#title", Prose).source
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not dark
        await settle(pilot)


async def test_keys_answer_while_a_snippet_loops(make_app: MakeApp) -> None:
    app = make_app("loops", own_lab=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.quiz.running("loops")
        await pilot.press("n")
        assert view(app).question.id == "accumulate"
        await pilot.press("p", "t", "enter")
        assert view(app).question.id == "loops"
        assert app.quiz.state("loops") == "right"
        # Every key was handled while the snippet still looped (its timeout is 4 s): the
        # keys did not wait for the lab. Closing the app ends the run.
        assert app.quiz.running("loops")
        assert app.screen.query_one(LoadingIndicator)


async def test_quitting_leaves_no_worker_process(make_app: MakeApp) -> None:
    app = make_app(own_lab=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pids = app.lab.pids()
        assert pids
        await pilot.press("ctrl+q")
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


async def test_tables_are_drawn_before_enter_and_only_revealed(make_app: MakeApp) -> None:
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(LabPanel)
        tables_before = list(panel.query(DataTable))
        assert not panel.display
        assert len(tables_before) == 2
        await pilot.press("1", "enter")
        await settle(pilot)
        assert panel.display
        assert list(panel.query(DataTable)) == tables_before
        assert "Right" in str(panel.query_one("#verdict", Static).render())
