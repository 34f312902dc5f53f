"""Shared packs and helpers for driving the app: one lab worker per app keeps the suite quick."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from gradquiz.format import Library, Question, load
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab

PACKS = Path(__file__).parent / "packs"
# A question with six variants for the lab, kept apart so the packs above stay seven questions.
LAB_PACKS = Path(__file__).parent / "lab_packs"

MakeApp = Callable[..., GradquizApp]


@pytest.fixture(scope="session")
def library() -> Library:
    loaded = load([PACKS])
    assert not loaded.problems, loaded.problems
    return loaded


@pytest.fixture(scope="session")
def six_library() -> Library:
    loaded = load([LAB_PACKS])
    assert not loaded.problems, loaded.problems
    return loaded


def six_app(library: Library, lab: SharedLab, trusted: bool = True) -> GradquizApp:
    """The app on the six-variant question."""
    return GradquizApp(library, lambda question: trusted, "six", None, workers=1, lab=lab)


@pytest.fixture(scope="session")
def shared_lab() -> Iterator[SharedLab]:
    """One lab worker per test process: torch is imported once, not once per app."""
    lab = SharedLab(workers=1)
    yield lab
    lab.close()


@pytest.fixture
def make_app(library: Library, shared_lab: SharedLab) -> MakeApp:
    def make(
        start: str | None = None,
        language: str | None = None,
        trusted: Callable[[Question], bool] = lambda question: True,
        own_lab: bool = False,
        drill: list[str] | None = None,
    ) -> GradquizApp:
        lab = None if own_lab else shared_lab
        return GradquizApp(library, trusted, start, language, workers=1, lab=lab, drill=drill)

    return make


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every experiment has come back and the screen has drawn what it got."""
    app = pilot.app
    assert isinstance(app, GradquizApp)
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(runs.out for runs in app.quiz.runs.values()) and not app.workers:
            return
    raise AssertionError("the app did not settle")
