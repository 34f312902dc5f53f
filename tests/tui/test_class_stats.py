"""The instructor's class view (`gradquiz --class DIR`), driven with Pilot."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from gradquiz.tui.class_stats import ClassStatsApp
from tests.progress.test_classroom import QUESTIONS, learner


def cells(app: ClassStatsApp, table: str) -> list[list[str]]:
    widget = app.screen.query_one(f"#{table}", DataTable)
    return [[str(cell) for cell in widget.get_row_at(n)] for n in range(widget.row_count)]


async def test_the_class_view_shows_learners_topics_and_what_is_missed(tmp_path: Path) -> None:
    room = tmp_path / "class"
    learner(room, "ada", [("accumulate", "B", True)]).store.close()
    bob = learner(room, "bob", [("accumulate", "A", False), ("accumulate", "A", False)])
    app = ClassStatsApp(room, list(QUESTIONS.values()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        summary = str(app.screen.query_one("#class-summary", Static).render())
        assert summary.endswith("2 learners · 3 answers · 1 correct (33%)")
        assert cells(app, "class-learners") == [["ada", "1", "1", "100%"], ["bob", "2", "0", "0%"]]
        assert cells(app, "class-topics") == [["training-loop", "3", "1", "33%"]]
        assert cells(app, "class-missed") == [
            ["accumulate", "2", "3", "A", "2", "Does .grad pile up?"]
        ]
        # Bob answers again while the view is open: `r` reads the class again.
        bob.record(
            QUESTIONS["accumulate"],
            response="B",
            correct=True,
            seconds=4,
            torch=None,
            now=bob.store.answers()[-1].answered_at,
        )
        await pilot.press("r")
        await pilot.pause()
        assert cells(app, "class-learners")[1] == ["bob", "3", "1", "33%"]
    bob.store.close()
