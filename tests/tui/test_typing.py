"""Keys typed faster than the app reads them: a trace table filled in one burst, as tmux
`send-keys` or a quick typist sends them, lands each value in its own cell."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from gradquiz.blanks import Cells
from gradquiz.format import load
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from tests.tui.conftest import settle

TRACE_PACKS = Path(__file__).parent / "trace_packs"
CHARACTERS = {"full_stop": ".", "tab": "\t"}


def burst(app: GradquizApp, *keys: str) -> None:
    """Every key handed to the app at once, none waiting for the one before to be handled
    (Pilot's `press` waits between keys, and so never shows the race)."""
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))


def trace_app(shared_lab: SharedLab) -> GradquizApp:
    library = load([TRACE_PACKS])
    assert not library.problems, library.problems
    return GradquizApp(library, lambda question: True, "two-cells", workers=1, lab=shared_lab)


async def test_values_typed_in_one_burst_land_in_their_own_cells(shared_lab: SharedLab) -> None:
    app = trace_app(shared_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#blank-0", Input).has_focus
        burst(app, "1", "full_stop", "0", "tab", "1", "full_stop", "4")
        await pilot.pause()
        await pilot.pause()
        cells = [app.screen.query_one(f"#blank-{i}", Input).value for i in (0, 1)]
        assert cells == ["1.0", "1.4"]
        assert app.screen.query_one("#blank-1", Input).has_focus


async def test_shift_tab_and_enter_in_the_same_burst_are_taken_in_order(
    shared_lab: SharedLab,
) -> None:
    app = trace_app(shared_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # Right values (2 more each step: 4, 6), the first fixed after a shift+tab back, and
        # Enter at the end: graded with both cells as typed.
        burst(app, "5", "tab", "6", "shift+tab", "backspace", "4", "enter")
        await settle(pilot)
        question = app.quiz.question
        assert question is not None
        answered = app.quiz.answered(question)
        assert answered is not None and answered.response == Cells((4.0, 6.0))
        assert answered.verdict is not None and answered.verdict.correct


async def test_a_pasted_row_of_numbers_fills_the_cells_from_the_one_in_focus(
    shared_lab: SharedLab,
) -> None:
    app = trace_app(shared_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.post_message(events.Paste("4\t6"))
        await pilot.pause()
        await pilot.pause()
        cells = [app.screen.query_one(f"#blank-{i}", Input).value for i in (0, 1)]
        assert cells == ["4", "6"]
