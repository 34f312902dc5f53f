"""The code editor over a variant, and the playground: driven with Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from gradquiz import playground
from gradquiz.classroom.session import EDITING_ENV
from gradquiz.format import Library
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.editor import EditorScreen, ExperimentScreen
from gradquiz.tui.screens.playground import PlaygroundApp, PlaygroundScreen, SaveDialog
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.answers import OrderAnswer
from tests.tui.conftest import MakeApp, settle

SIZE = (120, 40)
B_CODE = "(2 * w).sum().backward()\n"


async def answered_b(pilot: Pilot[None]) -> EditorScreen:
    """Answer `accumulate` with B (wrong), then open the editor on it."""
    await pilot.press("2", "enter")
    await settle(pilot)
    await pilot.press("e")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, EditorScreen)
    return screen


async def ran(pilot: Pilot[None], screen: ExperimentScreen, runs: int) -> None:
    """Press ctrl+r and wait for run number `runs` to be drawn."""
    await pilot.press("ctrl+r")
    for _ in range(500):
        await pilot.pause(0.02)
        if screen.runs == runs and status(screen).startswith(("✓ Run", "✗ Run")):
            return
    raise AssertionError(f"run {runs} was not drawn: {status(screen)!r}")


def status(screen: ExperimentScreen) -> str:
    return str(screen.query_one("#edit-status", Static).render())


def table_rows(screen: ExperimentScreen) -> list[list[str]]:
    table: DataTable[object] = screen.query_one("#edit-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def set_code(screen: ExperimentScreen, text: str) -> None:
    screen.query_one("#code", TextArea).load_text(text)


async def test_an_edit_that_runs_differently(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await answered_b(pilot)
        code = screen.query_one("#code", TextArea)
        assert code.text == B_CODE and code.cursor_location == (0, 0)
        assert code.language == "python"
        assert screen.query_one("#setup", TextArea).text.startswith("w = torch.tensor([1.0]")
        assert "yours (from B)" in str(screen.query_one("#edit-title").render())
        set_code(screen, "print('step', step)\n(3 * w).sum().backward()\n")
        await ran(pilot, screen, 1)
        assert screen.last is not None and screen.last.variant == "yours (from B)"
        assert [row[0] for row in table_rows(screen)] == ["1", "2", "3"]
        assert screen.last.rows[2].values["w.grad"] == [9.0]
        sentences = str(screen.query_one("#edit-differences", Static).render())
        printed = str(screen.query_one("#edit-output", Static).render())
        assert printed == "Printed:\nstep 1\nstep 2\nstep 3"
        original, right = sentences.splitlines()[:2]
        assert original.startswith("Against the original: yours (from B) differs from B first")
        assert right.startswith("Against the right one: yours (from B) differs from A first")
        # The run beside the original and the right one, a value unlike the original's marked.
        beside = str(screen.query_one("#edit-beside", Static).render()).splitlines()
        assert beside[0] == "w.grad: your run beside the original"
        assert beside[1].split() == [
            "step",
            "B",
            "(original)",
            "yours",
            "(from",
            "B)",
            "A",
            "✓",
            "(right)",
        ]
        assert beside[2].split() == ["1", "[2.000000]", "[3.000000]", "≠", "[2.000000]"]
        assert beside[4].split() == ["3", "[6.000000]", "[9.000000]", "≠", "[2.000000]", "≠"]


async def test_e_edits_the_variant_on_display_not_always_the_pick(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        # `[` puts A (the right one) on display; `e` edits A, not the pick B.
        await pilot.press("left_square_bracket", "e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EditorScreen) and screen.variant == "A"
        assert "editing A · runs as yours (from A)" in str(screen.query_one("#edit-title").render())
        assert (
            screen.query_one("#code", TextArea).text == "w.grad = None\n(2 * w).sum().backward()\n"
        )
        await pilot.press("escape", "right_square_bracket", "e")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, EditorScreen) and again.variant == "B"
        assert again.query_one("#code", TextArea).text == B_CODE


async def test_a_line_typed_just_before_ctrl_r_is_in_the_run(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await answered_b(pilot)
        # Typed ahead, as from a fast typist: ctrl+r is taken as it comes, the text is not.
        keys = [(c, c) for c in "w.grad=None"] + [("enter", "\r"), ("ctrl+r", None)]
        for key, character in keys:
            app.post_message(
                events.Key({".": "full_stop", "=": "equals_sign"}.get(key, key), character)
            )
        for _ in range(500):
            await pilot.pause(0.02)
            if status(screen).startswith(("✓ Run", "✗")):
                break
        assert status(screen).startswith("✓ Run 1"), status(screen)
        assert screen.query_one("#code", TextArea).text == "w.grad=None\n" + B_CODE
        assert screen.last is not None
        assert [row.values["w.grad"] for row in screen.last.rows] == [[2.0]] * 3


async def test_a_syntax_error_is_shown_at_its_line_and_nothing_runs(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await answered_b(pilot)
        set_code(screen, "x = 1\nif x\n")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.runs == 0
        assert "Not run: step code, line 2: SyntaxError" in status(screen)
        code = screen.query_one("#code", TextArea)
        assert code.has_focus and code.cursor_location[0] == 1


async def test_a_runtime_error_shows_in_the_table_and_at_its_line(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await answered_b(pilot)
        set_code(screen, "x = 1\nraise ValueError('boom')\n")
        await ran(pilot, screen, 1)
        assert table_rows(screen)[-1][:2] == ["✗ 1", "ValueError: boom"]
        assert "(step code, line 2): ValueError: boom" in status(screen)
        assert screen.query_one("#code", TextArea).cursor_location[0] == 1


async def test_escape_keeps_the_edit_and_a_key_restores_the_original(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await answered_b(pilot)
        set_code(screen, "pass\n")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("e")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, EditorScreen)
        assert again.query_one("#code", TextArea).text == "pass\n"
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert again.query_one("#code", TextArea).text == B_CODE
        assert "Restored B" in status(again)


async def test_the_playground_opens_from_the_app_on_the_question(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        assert (
            screen.query_one("#code", TextArea).text == "w.grad = None\n(2 * w).sum().backward()\n"
        )
        await ran(pilot, screen, 1)
        assert screen.last is not None
        assert [row.values["w.grad"] for row in screen.last.rows] == [[2.0]] * 3
        assert [row[0] for row in table_rows(screen)] == ["1", "2", "3"]


async def test_the_playground_from_an_id_compares_with_the_previous_run(
    library: Library, shared_lab: SharedLab
) -> None:
    question = library.get("accumulate")
    assert question is not None
    app = PlaygroundApp(playground.from_question(question, "B"), "accumulate", lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        assert "from accumulate" in str(screen.query_one("#edit-title").render())
        await ran(pilot, screen, 1)
        assert screen.last is not None and screen.last.rows[2].values["w.grad"] == [6.0]
        assert str(screen.query_one("#edit-differences", Static).render()) == ""
        set_code(screen, "(5 * w).sum().backward()\n")
        await ran(pilot, screen, 2)
        sentences = str(screen.query_one("#edit-differences", Static).render())
        assert sentences.startswith(
            "Against the previous run: run 2 differs from run 1 first at step 1"
        )


async def test_the_playground_from_nothing_runs_the_example_and_saves(
    shared_lab: SharedLab, tmp_path: Path
) -> None:
    app = PlaygroundApp(playground.EXAMPLE, None, lab=shared_lab)
    target = tmp_path / "tried.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        assert "a small example" in str(screen.query_one("#edit-title").render())
        await ran(pilot, screen, 1)
        assert screen.last is not None
        assert [row.values["w.grad"] for row in screen.last.rows] == [3.0, 6.0, 9.0]
        for attempt in ("saved", "exists"):
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SaveDialog)
            app.screen.query_one("#save-path", Input).value = str(target)
            await pilot.press("enter")
            await pilot.pause()
            if attempt == "saved":
                assert f"Saved question tried to {target}" in status(screen)
            else:
                assert "exists (nothing is overwritten)" in status(screen)
        assert "id: tried" in target.read_text()
        assert "code: |\n        loss = 3 * w\n" in target.read_text()


async def test_running_an_edit_of_an_untrusted_pack_asks_first(make_app: MakeApp) -> None:
    from gradquiz.tui.screens.dialogs import TrustDialog

    app = make_app(trusted=lambda question: False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("n")  # graded later; the code is shown, nothing ran
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EditorScreen)
        assert screen.query_one("#code", TextArea).text == B_CODE
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.runs == 0
        assert "Not run: the pack is not trusted" in status(screen)


async def test_an_order_answer_is_edited_as_the_learners_arrangement(make_app: MakeApp) -> None:
    from tests.tui.test_app import arrange

    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        widget = app.screen.query_one(OrderAnswer)
        question = app.quiz.question
        assert question is not None
        # backward before zero_grad: the gradient is wiped before the step uses it.
        await arrange(pilot, widget, [question.lines[i] for i in (1, 2, 0, 3)])
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EditorScreen) and screen.variant == "yours"
        code = screen.query_one("#code", TextArea).text
        assert code.splitlines() == [question.lines[i] for i in (1, 2, 0, 3)]
        set_code(screen, "\n".join(question.lines) + "\n")
        await ran(pilot, screen, 1)
        sentences = str(screen.query_one("#edit-differences", Static).render()).splitlines()
        assert sentences[0].startswith("Against the original: yours (edited) differs")
        assert sentences[1].startswith(
            "Against the right one: yours (edited) behaves like reference"
        )


async def test_served_without_allow_editing_offers_no_editor(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gradquiz serve` without --allow-editing: a browser's code would run on the server."""
    monkeypatch.setenv(EDITING_ENV, "off")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        await pilot.press("e", "o")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        assert app.screen.check_action("edit", ()) is False
        assert app.screen.check_action("playground", ()) is False
