"""Kept results: the first answer is shown, graded and saved at once from a result kept by an
earlier run, labelled as such, and the fresh run replaces it when it comes back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from gradquiz import locations
from gradquiz.format import Library, Question
from gradquiz.lab import cache as cache_module
from gradquiz.lab.cache import ResultCache
from gradquiz.lab.protocol import (
    TIMEOUT,
    Outcome,
    Row,
    RunError,
    VariantRequest,
    VariantResult,
    requests_for,
)
from gradquiz.quiz import Stage
from gradquiz.tui import app as app_module
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.widgets.lab import LabPanel
from tests.tui.conftest import MakeApp, settle
from tests.tui.test_lab import shown
from tests.tui.test_progress import SIZE, opened, saved_answers, toasts, until, until_saved
from tests.tui.test_saving import GatedLab, gated, gated_app

__all__ = ["gated"]  # the fixture, used by name

NUMERIC = "how-much"


def kept(library: Library, lab: SharedLab, x_grad: float = 6.0) -> VariantResult:
    """Keep a run of the numeric question, as an earlier session would have (with `x_grad`
    in place of what it ran, to tell the kept result from the fresh one); returns it."""
    [request] = requests_for(numeric(library))
    [result] = lab.run_all([request])
    if x_grad != 6.0:
        result = replace(result, rows=[Row(1, {"x.grad": x_grad})], answer=Outcome(x_grad))
    ResultCache(locations.kept_results()).put(request, result)
    return result


def numeric(library: Library) -> Question:
    question = library.get(NUMERIC)
    assert question is not None
    return question


def status(app: GradquizApp) -> str:
    """The line above the lab that says where the experiment stands."""
    return str(app.screen.query_one("#lab-status", Static).render())


def table(app: GradquizApp) -> str:
    return shown(app.screen.query_one(DataTable))


def kept_on(entry: Path) -> str:
    """The day a kept result was saved, as its label should say it."""
    return str(json.loads(entry.read_text())["saved"])[:10]


async def test_a_kept_result_is_shown_labelled_then_replaced_by_the_fresh_run(
    library: Library, gated: GatedLab, shared_lab: SharedLab
) -> None:
    kept(library, shared_lab, x_grad=7.0)
    app = gated_app(library, gated, NUMERIC)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: "kept result" in status(app))
        release = cache_module.versions()["torch"].split("+")[0]
        [entry] = locations.kept_results().glob("*.json")
        assert status(app) == (
            f"Experiment: kept result · torch {release} · {kept_on(entry)}; "
            "a fresh run is on its way…"
        )
        await pilot.press("7", "enter")
        await until(pilot, lambda: bool(app.screen.query(DataTable)))
        # Graded by the kept run (which said 7), before the fresh one has come back.
        assert "✓ Right." in str(app.screen.query_one("#verdict", Static).render())
        assert "7" in table(app) and "6" not in table(app)
        gated.gate.set()
        await settle(pilot)
        await until(pilot, lambda: "6" in table(app))
        assert status(app) == "Experiment: ready (1 variant)."
        assert "7" not in table(app)
        assert "differs from its kept result: the lab shows the fresh one" in toasts(app)
    # The fresh run is kept for next time in place of the old one.
    again = ResultCache(locations.kept_results()).get(requests_for(numeric(library))[0])
    assert again is not None and again.result.answer == Outcome(6.0)


def timed_out(requests: Sequence[VariantRequest], *_: object) -> list[VariantResult]:
    """Every run timing out, as on a machine too busy for their timeout."""
    error = RunError(TIMEOUT, "timed out after 10 s", 1)
    return [VariantResult(r.question, r.variant, [], [], error) for r in requests]


async def answer_seven_once(pilot: Pilot[None], showing: str) -> None:
    """Once the status line says `showing`, answer 7 and wait for the lab's table."""
    app = pilot.app
    assert isinstance(app, GradquizApp)
    await opened(pilot)
    await until(pilot, lambda: showing in status(app))
    await pilot.press("7", "enter")
    await until(pilot, lambda: bool(app.screen.query(DataTable)))


@pytest.fixture
def timing_out(
    library: Library, gated: GatedLab, shared_lab: SharedLab, monkeypatch: pytest.MonkeyPatch
) -> GradquizApp:
    """The app on the numeric question, whose kept result says 7 and whose fresh runs, held at
    the gate, time out."""
    kept(library, shared_lab, x_grad=7.0)
    monkeypatch.setattr(shared_lab, "run_all", timed_out)
    return gated_app(library, gated, NUMERIC)


async def test_a_fresh_run_that_does_not_finish_leaves_the_kept_result_on_show(
    library: Library, timing_out: GradquizApp, gated: GatedLab
) -> None:
    [entry] = locations.kept_results().glob("*.json")
    app = timing_out
    async with app.run_test(size=SIZE) as pilot:
        await answer_seven_once(pilot, "kept result")
        gated.gate.set()
        await until(pilot, lambda: "did not finish" in toasts(app))
        await settle(pilot)
        release = cache_module.versions()["torch"].split("+")[0]
        assert status(app) == (
            f"Experiment: kept result · torch {release} · {kept_on(entry)}; "
            "the fresh run did not finish."
        )
        assert "7" in table(app) and "timed out" not in table(app)
        assert (
            "The fresh run of “The gradient of x squared” did not finish (timed out after 10 s): "
            "the lab goes on showing its kept result; r runs it again."
        ) in toasts(app)
        assert "differs" not in toasts(app)
        assert "✓ Right." in str(app.screen.query_one("#verdict", Static).render())
    # Nothing was kept from the run that did not finish: the old result stays for next time.
    again = ResultCache(locations.kept_results()).get(requests_for(numeric(library))[0])
    assert again is not None and again.result.answer == Outcome(7.0)


async def test_after_a_fresh_run_that_did_not_finish_the_kept_result_grades_and_r_runs_again(
    timing_out: GradquizApp, gated: GatedLab
) -> None:
    gated.gate.set()  # the fresh run times out before the learner answers
    app = timing_out
    async with app.run_test(size=SIZE) as pilot:
        await answer_seven_once(pilot, "the fresh run did not finish")
        assert "✓ Right." in str(app.screen.query_one("#verdict", Static).render())
        await until_saved(pilot, 1)
        # A re-run asked for shows what it gives, even a run that does not finish.
        await pilot.press("r")
        await until(pilot, lambda: "kept result" not in status(app))
        await settle(pilot)
        assert app.quiz.results(NUMERIC)["main"].error == RunError(
            TIMEOUT, "timed out after 10 s", 1
        )
        assert toasts(app).count("did not finish") == 1


async def test_a_run_out_when_r_is_pressed_does_not_bring_the_kept_result_back(
    timing_out: GradquizApp, gated: GatedLab
) -> None:
    app = timing_out
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: "kept result" in status(app))
        await pilot.press("r")
        await until(pilot, lambda: "kept result" not in status(app))
        gated.gate.set()  # the first fresh run, then the re-run, both time out
        await settle(pilot)
        assert not app.quiz.running(NUMERIC) and app.quiz.kept(NUMERIC) is None
        assert app.quiz.results(NUMERIC)["main"].error is not None
        assert "kept result" not in status(app) and "did not finish" not in toasts(app)
        # An answer now waits for nothing kept: it is graded by the run that did not finish.
        await pilot.press("7", "enter")
        await until(pilot, lambda: bool(app.screen.query("#verdict")))
        assert "✓ Right." not in str(app.screen.query_one("#verdict", Static).render())


async def test_an_answer_graded_from_a_kept_result_is_saved_before_the_fresh_run(
    library: Library, gated: GatedLab, shared_lab: SharedLab
) -> None:
    kept(library, shared_lab)
    app = gated_app(library, gated, NUMERIC)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: "kept result" in status(app))
        await pilot.press("6", "enter")
        # Saved while the fresh run is still held at the gate.
        await until_saved(pilot, 1)
        [answered] = app.quiz.given
        assert answered.stage is Stage.SAVED and app.quiz.running(NUMERIC)
        drawn = app.screen.query_one(DataTable)
        gated.gate.set()
        await settle(pilot)
        await until(pilot, lambda: "kept result" not in status(app))
        # The fresh run showed the same: nothing said, the table not drawn again.
        assert "differs" not in toasts(app)
        assert app.screen.query_one(DataTable) is drawn
    release = cache_module.versions()["torch"].split("+")[0]
    assert saved_answers() == [(NUMERIC, "6.0", 1, release)]


async def test_a_result_kept_by_another_torch_is_not_used(
    library: Library, gated: GatedLab, shared_lab: SharedLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(
            cache_module,
            "versions",
            lambda: {"torch": "1.13.1", "torchvision": "0.14.1", "numpy": "1.26.4"},
        )
        kept(library, shared_lab, x_grad=7.0)
    [stale] = locations.kept_results().glob("*.json")
    asked = threading.Event()
    held = gated.run_all

    def run_all(requests: Sequence[VariantRequest]) -> list[VariantResult]:
        asked.set()
        return held(requests)

    monkeypatch.setattr(gated, "run_all", run_all)
    app = gated_app(library, gated, NUMERIC)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        # The cache is read before the runs go to the lab, where the gate holds them.
        await until(pilot, asked.is_set)
        await pilot.press("6", "enter")
        await pilot.pause(0.2)
        [answered] = app.quiz.given
        assert answered.stage is Stage.WAITING and app.quiz.kept(NUMERIC) is None
        assert saved_answers() == []
        gated.gate.set()
        await settle(pilot)
        await until_saved(pilot, 1)
        assert "kept result" not in status(app) and "6" in table(app)
    # The fresh run was kept beside the stale entry, under this torch's key.
    fresh = ResultCache(locations.kept_results()).get(requests_for(numeric(library))[0])
    assert fresh is not None and fresh.result.answer == Outcome(6.0) and stale.exists()


async def test_the_next_question_runs_ahead_and_is_kept_for_the_next_session(
    make_app: MakeApp,
) -> None:
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Nothing pressed: the question after the one on screen ran once its runs were back.
        assert set(app.quiz.results("pick-many")) == {"A", "B", "C"}
        assert app.quiz.results("true-or-false") == {}
        upcoming = app.quiz.attempt_by_id("pick-many")
        assert upcoming is not None
        cache = ResultCache(locations.kept_results())
        assert all(cache.get(request) is not None for request in requests_for(upcoming))
        await pilot.press("n")
        await until(pilot, lambda: "ready (3 variants)" in status(app))


class Noting(GradquizApp):
    """The app, noting when tables were first drawn."""

    drawn_at: float | None = None

    def on_lab_panel_tables_drawn(self, message: LabPanel.TablesDrawn) -> None:
        self.drawn_at = self.drawn_at or time.monotonic()


async def test_the_lab_starts_once_the_kept_results_are_drawn(
    library: Library, gated: GatedLab, shared_lab: SharedLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its workers' torch import would take the cores the drawing needs."""
    kept(library, shared_lab)
    # Only the drawing lets the runs go: a wait that ran out would fail the test.
    monkeypatch.setattr(app_module, "KEPT_FIRST_SECONDS", 60.0)
    asked: list[float] = []
    held = gated.run_all

    def run_all(requests: Sequence[VariantRequest]) -> list[VariantResult]:
        asked.append(time.monotonic())
        return held(requests)

    monkeypatch.setattr(gated, "run_all", run_all)
    app = Noting(library, lambda question: True, NUMERIC, workers=1, lab=gated)
    app.owns_lab = True
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(asked))
        assert app.drawn_at is not None and asked[0] >= app.drawn_at
        gated.gate.set()
        await settle(pilot)


async def test_the_status_line_says_running_while_the_runs_are_out(
    library: Library, gated: GatedLab
) -> None:
    """No kept result: once the runs have started, the line says so (not "waiting")."""
    app = gated_app(library, gated, NUMERIC)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: app.quiz.running(NUMERIC))
        assert status(app) == "Experiment: running in the lab…"
        gated.gate.set()
        await settle(pilot)
        await until(pilot, lambda: status(app) == "Experiment: ready (1 variant).")
