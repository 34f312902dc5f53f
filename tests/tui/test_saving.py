"""Nothing lost: answers left before their runs return, drills begun again, saves that fail."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from textual import events
from textual.widgets import Input, Static

from gradquiz.format import Library
from gradquiz.lab.protocol import VariantRequest, VariantResult
from gradquiz.progress import saving
from gradquiz.progress.drill import Progress
from gradquiz.quiz import Stage
from gradquiz.tui import saving as saving_module
from gradquiz.tui.app import GradquizApp, run_app
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.question import QuestionView
from tests.tui.conftest import MakeApp, settle
from tests.tui.test_progress import (
    SIZE,
    opened,
    saved_answers,
    toasts,
    until,
    until_saved,
    until_toast,
    where,
)


class GatedLab(SharedLab):
    """The shared lab, holding every run until the test opens the gate."""

    def __init__(self, inner: SharedLab) -> None:
        super().__init__(1)
        self.inner = inner
        self.gate = threading.Event()

    def start(self) -> Any:
        return self.inner.start()

    def run_all(
        self,
        requests: Sequence[VariantRequest],
        on_result: Callable[[VariantResult], None] | None = None,
    ) -> list[VariantResult]:
        self.gate.wait(60)
        return self.inner.run_all(requests, on_result)

    @property
    def torch_version(self) -> str | None:
        return self.inner.torch_version

    def close(self) -> None:
        """The app is leaving: runs still held go ahead (the shared lab stays open)."""
        self.gate.set()


def gated_app(library: Library, lab: GatedLab, start: str) -> GradquizApp:
    app = GradquizApp(library, lambda question: True, start, workers=1, lab=lab)
    app.owns_lab = True  # so it closes the gate as it leaves, as it would close its own lab
    return app


@pytest.fixture
def gated(shared_lab: SharedLab) -> Iterator[GatedLab]:
    lab = GatedLab(shared_lab)
    yield lab
    lab.gate.set()  # runs still held finish, and their threads end


def view(app: GradquizApp) -> QuestionView:
    return app.screen.query_one(QuestionView)


async def test_an_answer_left_before_its_runs_return_is_saved(
    library: Library, gated: GatedLab
) -> None:
    app = gated_app(library, gated, "how-much")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("6", "enter", "n")
        await pilot.pause()
        assert view(app).question.id == "arrange"
        [answered] = app.quiz.unsaved
        assert answered.stage is Stage.WAITING and saved_answers() == []
        gated.gate.set()
        await settle(pilot)
        await until_saved(pilot, 1)
        assert view(app).question.id == "arrange"  # graded and saved off screen
        assert app.quiz.state("how-much") == "right"
    assert saved_answers() == [("how-much", "6.0", 1, gated.torch_version)]


async def test_an_answer_whose_runs_never_return_is_saved_at_exit(
    library: Library, gated: GatedLab
) -> None:
    app = gated_app(library, gated, "true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("t", "enter")
        await pilot.pause()
        assert "✓ Right." in str(app.screen.query_one("#verdict", Static).render())
        assert saved_answers() == []  # waiting to name the torch of runs that never come
        await pilot.press("ctrl+q")
    assert saved_answers() == [("true-or-false", "true", 1, None)]


async def test_a_drill_after_a_wrong_number_serves_it_fresh_and_answerable(
    make_app: MakeApp,
) -> None:
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await settle(pilot)
        await pilot.press("5", "enter")
        await settle(pilot)
        assert "✗ Not quite." in str(app.screen.query_one("#verdict", Static).render())
        await until_saved(pilot, 1)
        await pilot.press("m")
        await until_toast(pilot, "Drill: 1 question.")
        await pilot.pause()
        assert "drill 1/1 · 4/7" in where(app)
        fresh = view(app)
        assert fresh.question.id == "how-much" and fresh.answered is None
        box = app.screen.query_one("#number", Input)
        assert box.value == "" and not box.disabled and box.has_focus
        assert not app.screen.query_one("#lab").display  # tables drawn out of sight only
        await pilot.press("6", "enter")
        await settle(pilot)
        assert "✓ Right." in str(app.screen.query_one("#verdict", Static).render())
        await until_saved(pilot, 2)
        await pilot.press("n")
        await until_toast(pilot, "Drill over: 1 of its 1 question answered, 1 right. Next due ")
    assert [row[:3] for row in saved_answers()] == [
        ("how-much", "5.0", 0),
        ("how-much", "6.0", 1),
    ]


async def test_focus_stays_on_the_question_after_a_numeric_answer(make_app: MakeApp) -> None:
    app = make_app("how-much")
    # The smallest terminal: its lab (one row, no plot) is taller than the screen.
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await pilot.press("6", "enter")
        await settle(pilot)
        body = app.screen.query_one("#body")
        assert app.focused is body
        # The verdict was scrolled into sight: the page keys move the question, not a box.
        before = body.scroll_y
        assert before > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert body.scroll_y < before


async def test_a_failing_save_is_retried_named_then_written(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saving, "PAUSES", (0.0, 0.0))
    monkeypatch.setattr(saving_module, "RETRY_SECONDS", 0.2)
    disk = {"full": True, "attempts": 0}
    review = Progress.review

    def full_disk(self: Progress, *args: Any, **kwargs: Any) -> Any:
        if disk["full"]:
            disk["attempts"] += 1
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorname = "SQLITE_FULL"
            raise error
        return review(self, *args, **kwargs)

    monkeypatch.setattr(Progress, "review", full_disk)
    app = make_app("true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("t", "enter")
        await settle(pilot)
        await until_toast(
            pilot,
            "Not saved: your answer to “A leaf's grad is None before backward” (the disk is "
            "full). gradquiz will try again, and once more before it quits.",
        )
        assert disk["attempts"] >= 3  # tried, and tried again, before saying so
        assert toasts(app).count("Not saved") == 1
        disk["full"] = False
        await until_toast(pilot, "Saved now: your answer to “A leaf's grad is None")
        await until_saved(pilot, 1)
        assert app.quiz.failing() == []


def test_the_exit_code_is_not_zero_after_a_crash(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(self: QuizScreen) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(QuizScreen, "on_mount", crash)
    assert run_app(library, lambda question: True, None, None, headless=True) == 1


async def test_reopens_past_the_files_read_before_the_first_paint(
    library: Library, shared_lab: SharedLab
) -> None:
    from datetime import UTC, datetime

    from gradquiz.format import load_first
    from gradquiz.progress import open_progress
    from tests.tui.conftest import PACKS

    progress, _ = open_progress()
    for question in library.questions[:5]:  # every question of basics.yaml, the first file
        progress.record(
            question, response="x", correct=True, seconds=1, torch=None, now=datetime.now(UTC)
        )
    progress.store.close()
    first = load_first([PACKS])
    assert first.pending  # trouble.yaml is read after the first paint
    app = GradquizApp(first, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: "6/7" in where(app))
        assert "TUI test trouble · errors · 6/7 · new" in where(app)
        assert view(app).question.id == "fails"
        await settle(pilot)


async def type_ahead(app: GradquizApp, keys: Sequence[tuple[str, str | None]]) -> None:
    """Keys arriving together, as from a fast typist or a paste: none waits for the last."""
    for key, character in keys:
        app.post_message(events.Key(key, character))


async def test_keys_typed_ahead_act_in_the_order_pressed(make_app: MakeApp) -> None:
    """`6 Enter n` at once: the number is submitted, then `n` moves on."""
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_ahead(app, [("6", "6"), ("enter", "\r"), ("n", "n")])
        await until(pilot, lambda: view(app).question.id == "arrange")
        await settle(pilot)
        assert app.quiz.answers["how-much"].response == 6.0
        assert app.quiz.state("how-much") == "right"


async def test_a_choice_typed_ahead_is_submitted_as_pressed(make_app: MakeApp) -> None:
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_ahead(app, [("2", "2"), ("enter", "\r"), ("n", "n")])
        await until(pilot, lambda: view(app).question.id == "pick-many")
        await settle(pilot)
        assert app.quiz.answers["accumulate"].response == "B"


async def test_an_order_typed_ahead_is_submitted_as_pressed(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_ahead(app, [("space", " "), ("enter", "\r")])
        await until(pilot, lambda: "arrange" in app.quiz.answers)
        await settle(pilot)
        response = app.quiz.answers["arrange"].response
        assert isinstance(response, tuple) and len(response) == 1


async def test_a_reset_the_database_refuses_is_said_and_changes_nothing(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradquiz.progress.store import Store

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        await until_saved(pilot, 1)

        def locked(self: Store, *args: Any, **kwargs: Any) -> int:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(Store, "reset", locked)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("delete", "y")
        await until_toast(
            pilot, "Nothing was reset: the progress file is locked by another program."
        )
        assert app.quiz.state("accumulate") == "right" and len(saved_answers()) == 1
        await pilot.press("escape")
        await settle(pilot)


@pytest.mark.parametrize("key", ["s", "l", "g"])
async def test_keys_that_need_every_question_wait_without_freezing_the_app(
    key: str, shared_lab: SharedLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pressed before the rest of the files are read, they act once they are (they froze the
    app: the action waited in the app's queue for a message queued behind it)."""
    import time

    from gradquiz.format import load_first
    from gradquiz.format.library import Library as LibraryClass
    from gradquiz.tui.screens.question_list import QuestionListScreen
    from gradquiz.tui.screens.stats import StatsScreen
    from tests.tui.conftest import PACKS

    read_rest = LibraryClass.load_rest

    def slowly(self: LibraryClass) -> LibraryClass:
        time.sleep(0.5)
        return read_rest(self)

    monkeypatch.setattr(LibraryClass, "load_rest", slowly)
    first = load_first([PACKS])
    app = GradquizApp(first, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press(key)
        for _ in range(100):
            if app.library.complete and not isinstance(app.screen, QuizScreen):
                break
            if key == "g" and app.quiz.drill is not None:
                break
            await pilot.pause(0.02)
        if key == "s":
            assert isinstance(app.screen, StatsScreen)
        elif key == "l":
            assert isinstance(app.screen, QuestionListScreen)
        else:
            await pilot.pause()
            assert "drill 1/7" in where(app)
        await pilot.press("ctrl+q")


async def test_what_cannot_be_saved_even_at_exit_is_named_for_stderr(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saving, "PAUSES", (0.0,))

    def full_disk(self: Progress, *args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Progress, "review", full_disk)
    app = make_app("true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("t", "enter")
        await until_toast(pilot, "Not saved: your answer to “A leaf's grad is None")
        await pilot.press("ctrl+q")
    assert app.lost == [
        "not saved: your answer to “A leaf's grad is None before backward” (the disk is full)"
    ]


async def test_an_answer_still_waiting_for_its_runs_at_exit_is_named_for_stderr(
    library: Library, gated: GatedLab
) -> None:
    app = gated_app(library, gated, "how-much")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("6", "enter")
        await pilot.pause()
        await pilot.press("ctrl+q")
    assert app.lost == [
        "not saved: your answer to “The gradient of x squared” (its experiment had not come back)"
    ]
    assert saved_answers() == []
