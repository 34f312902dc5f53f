"""Saved progress in the app: answers kept across runs, drills, stats, reset, and the notices."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from gradquiz.progress.store import FILE_NAME, open_store
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.screens.dialogs import ConfirmDialog
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.screens.stats import StatsScreen
from gradquiz.tui.widgets.question import QuestionView
from tests.tui.conftest import MakeApp, settle

SIZE = (120, 40)


def home() -> Path:
    return Path(os.environ["GRADQUIZ_HOME"])


def saved_answers() -> list[tuple[str, str, int, str | None]]:
    path = home() / FILE_NAME
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT question, response, correct, torch FROM answers").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


async def opened(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, GradquizApp)
    for _ in range(200):
        if app.progress is not None:
            return
        await pilot.pause(0.02)
    raise AssertionError("progress was never opened")


async def until_saved(pilot: Pilot[None], count: int) -> None:
    for _ in range(200):
        if len(saved_answers()) >= count:
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{count} answer(s) were never saved: {saved_answers()}")


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Wait for what a key asked for: some requests travel through several queues."""
    for _ in range(200):
        try:
            if condition():
                return
        except NoMatches:
            pass  # the screen is being redrawn
        await pilot.pause(0.02)
    raise AssertionError("the app never got there")


def where(app: GradquizApp) -> str:
    return str(app.screen.query_one("#where", Static).render())


def toasts(app: GradquizApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def until_toast(pilot: Pilot[None], text: str) -> str:
    """The toasts once one holds `text` (a notification arrives as a message, a moment later)."""
    app = pilot.app
    assert isinstance(app, GradquizApp)
    for _ in range(200):
        if text in toasts(app):
            return toasts(app)
        await pilot.pause(0.02)
    raise AssertionError(f"no toast says {text!r}: {toasts(app)!r}")


async def test_answers_are_saved_and_remembered_by_the_next_run(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await until_saved(pilot, 1)
        await pilot.press("n", "1", "2", "enter")
        await settle(pilot)
        await until_saved(pilot, 2)
    assert saved_answers() == [
        ("accumulate", '"A"', 1, "2.13.0"),
        ("pick-many", '["A", "B"]', 1, "2.13.0"),
    ]
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.pause()
        # Reopened where the learner left off: the first question never answered.
        assert "· 3/7 · new" in where(again)
        await pilot.press("p")
        assert "· 2/7 ✓ right" in where(again)
        await settle(pilot)


async def test_drill_walks_its_queue_then_returns_to_every_question(make_app: MakeApp) -> None:
    app = make_app(drill=["how-much", "true-or-false"])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "drill 1/2" in where(app))
        assert app.screen.query_one(QuestionView).question.id == "how-much"
        await pilot.press("n")
        await until(pilot, lambda: "drill 2/2" in where(app))
        await pilot.press("n")
        await until_toast(pilot, "Drill over: 0 of its 2 questions answered.")
        assert app.quiz.drill is None
        await until(pilot, lambda: "drill" not in where(app))
        assert app.screen.query_one(QuestionView).question.id == "true-or-false"
        assert "· 3/7 · new" in where(app)
        await settle(pilot)


async def test_g_drills_new_questions_and_x_skips_one(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("g")
        await pilot.pause()
        assert app.quiz.drill is not None and "drill 1/7" in where(app)
        await pilot.press("x")
        await pilot.pause()
        assert "drill 1/6" in where(app)
        await until_toast(pilot, "Skipped for today")
        await pilot.press("ctrl+q")
    # The skip was written before the app let go of the store.
    assert "accumulate" in open_store(home()).store.cards()


async def test_stats_screen_counts_and_reset_everything(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "2", "enter")  # B: wrong
        await settle(pilot)
        await until_saved(pilot, 1)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StatsScreen))
        assert isinstance(app.screen, StatsScreen)
        # Read on the progress thread: loading until the numbers are in.
        await until(pilot, lambda: not app.screen.query_one("#stats").loading)
        summary = str(app.screen.query_one("#stats-summary", Static).render())
        assert "Answered 1 · correct 0 (0%)" in summary
        leeches = str(app.screen.query_one("#leeches", Static).render())
        assert leeches == "No leeches: no question has been missed 6 times."
        missed = str(app.screen.query_one("#most-missed", Static).render())
        assert "✗ 1 of 1" in missed
        table = app.screen.query_one("#by-topic", DataTable)
        rows = {row[0]: row[1:] for row in (table.get_row_at(n) for n in range(table.row_count))}
        assert len(rows) == len({q.topic for q in app.library.questions})
        assert rows["accumulation"] == ["2", "1", "0", "0%"]
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert len(saved_answers()) == 1
        await pilot.press("R", "y")
        await pilot.pause()
        assert saved_answers() == []
        await until(
            pilot,
            lambda: "Answered 0" in str(app.screen.query_one("#stats-summary", Static).render()),
        )
        await pilot.press("escape")
        assert isinstance(app.screen, QuizScreen)
        await settle(pilot)


async def test_reset_one_question_from_the_list(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await until_saved(pilot, 1)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("delete", "y")
        await pilot.pause()
        assert saved_answers() == []
        assert app.quiz.state("accumulate") == "new"
        await settle(pilot)


async def test_a_damaged_progress_file_is_moved_aside_with_a_notice(make_app: MakeApp) -> None:
    home().mkdir(parents=True, exist_ok=True)
    (home() / FILE_NAME).write_bytes(b"garbage, not SQLite" * 100)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.pause()
        moved = [p for p in home().iterdir() if ".damaged-" in p.name]
        assert len(moved) == 1 and moved[0].read_bytes() == b"garbage, not SQLite" * 100
        await until_toast(pilot, f"moved to {moved[0]}")
        await settle(pilot)


async def test_unsaveable_progress_says_so(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = home().parent / "blocker"
    blocker.write_text("a file where the directory should go")
    monkeypatch.setenv("GRADQUIZ_HOME", str(blocker / "home"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until_toast(pilot, "Progress is not being saved")
        await pilot.press("s")
        await pilot.pause()
        notices = str(app.screen.query_one("#stats-notices", Static).render())
        assert "not being saved" in notices
        await pilot.press("escape")
        await settle(pilot)


async def test_keys_pressed_before_progress_opens_keep_the_question_on_screen(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first paint shows the first question before the store says where the learner left
    off: a pick made in that moment stays on the question it was made on."""
    import threading

    import gradquiz.progress

    first = make_app()
    async with first.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await until_saved(pilot, 1)
    opening = threading.Event()
    real_open = gradquiz.progress.open_progress

    def slow_open() -> object:
        opening.wait(10)
        return real_open()

    monkeypatch.setattr(gradquiz.progress, "open_progress", slow_open)
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.progress is None and "· 1/7" in where(again)
        await pilot.press("2")
        opening.set()
        await opened(pilot)
        await pilot.pause()
        # Without the pick, the app goes on to the first question never answered (2/7).
        assert "· 1/7" in where(again), where(again)
        assert again.screen.query_one(QuestionView).ready_to_submit()
        await settle(pilot)
