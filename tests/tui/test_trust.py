"""Trust in the app: untrusted packs show their code and run nothing until the learner says yes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from gradquiz import locations
from gradquiz.packs import Catalog, discover
from gradquiz.trust import TrustStore
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.dialogs import TrustDialog
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.lab import VariantTable
from gradquiz.tui.widgets.question import QuestionView
from tests.conftest import write
from tests.tui.conftest import settle

SIZE = (120, 40)

PACK = """\
pack:
  title: Borrowed pack
  authors: [A. Stranger, B. Friend]
questions:
  - id: borrowed-number
    type: numeric
    title: How big is the gradient?
    prompt: "`(3 * w).sum().backward()` with `w = 1`. What is `w.grad`?"
    topic: borrowed
    experiment:
      setup: w = torch.ones(1, requires_grad=True)
      code: (3 * w).sum().backward()
      watch: {w.grad: w.grad}
    answer: {expr: w.grad.item()}
  - id: borrowed-truth
    type: truefalse
    title: Does backward add?
    prompt: "`backward()` adds into `.grad`."
    topic: borrowed
    experiment:
      setup: w = torch.ones(1, requires_grad=True)
      code: (2 * w).sum().backward()
    answer: true
"""


@pytest.fixture
def borrowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pack found through GRADQUIZ_PATH: shown, not run, until trusted."""
    pack = write(tmp_path / "elsewhere", "borrowed.yaml", PACK)
    monkeypatch.setenv("GRADQUIZ_PATH", str(pack))
    return pack


def app_for(catalog: Catalog, lab: SharedLab) -> GradquizApp:
    return GradquizApp(catalog.library, catalog, workers=1, lab=lab)


def footer_text(app: GradquizApp) -> str:
    return str(app.screen.query_one(KeyBar).render())


def shown(app: GradquizApp, selector: str) -> str:
    return " ".join(str(widget.render()) for widget in app.screen.query(selector).results(Static))


def toasts(app: GradquizApp) -> str:
    return " ".join(str(toast.render()) for toast in app.screen.query("Toast"))


async def test_yes_records_trust_runs_at_once_and_reaches_the_whole_pack(
    borrowed: Path, shared_lab: SharedLab
) -> None:
    app = app_for(discover(bundled=False), shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, QuizScreen)
        assert "Press T to trust it" in shown(app, "#untrusted")
        assert "Trust pack" in footer_text(app)
        assert app.quiz.runs == {}
        await pilot.press("3", "enter")
        assert isinstance(app.screen, TrustDialog)
        dialog = shown(app, "#trust-details") + shown(app, "#trust-why")
        assert str(borrowed) in dialog
        assert "A. Stranger, B. Friend" in dialog
        assert "2 questions, 6 code snippets" in dialog
        assert "GRADQUIZ_PATH" in dialog
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, QuizScreen)
        sha = hashlib.sha256(borrowed.read_bytes()).hexdigest()
        assert TrustStore.load().packs == {str(borrowed.resolve()): sha}
        # Graded by the real run: the answer key is an expression PyTorch evaluated.
        assert app.quiz.state("borrowed-number") == "right"
        assert "PyTorch computes 3" in shown(app, "#verdict")
        assert [t.result.variant for t in app.screen.query(VariantTable)] == ["main"]
        assert not app.screen.query("#untrusted")
        assert "Trust pack" not in footer_text(app)
        # Trust belongs to the pack: its next question runs without asking.
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.query_one(QuestionView).question.id == "borrowed-truth"
        assert not app.screen.query("#untrusted")
        assert "main" in app.quiz.results("borrowed-truth")


async def test_no_keeps_it_untrusted_says_why_and_asks_only_once(
    borrowed: Path, shared_lab: SharedLab
) -> None:
    app = app_for(discover(bundled=False), shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "enter")
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, QuizScreen)
        assert app.quiz.runs == {}
        assert "cannot be checked" in shown(app, "#verdict")
        note = shown(app, ".lab-note")
        assert "Not trusted: code not run" in note
        assert f"{borrowed} was found through GRADQUIZ_PATH and is not trusted" in note
        # The next question of the pack is graded by its key, without asking again.
        await pilot.press("n", "t", "enter")
        await settle(pilot)
        assert isinstance(app.screen, QuizScreen)
        assert app.quiz.state("borrowed-truth") == "right"
        assert app.quiz.runs == {}
        assert TrustStore.load().packs == {}
        # T still asks; Escape is a no.
        assert "Trust pack" in footer_text(app)
        await pilot.press("T")
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("escape")
        assert isinstance(app.screen, QuizScreen)
        assert app.quiz_screen() is not None and app.quiz.runs == {}


async def test_t_trusts_before_answering_and_enter_on_the_dialog_means_no(
    borrowed: Path, shared_lab: SharedLab
) -> None:
    app = app_for(discover(bundled=False), shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("T")
        assert isinstance(app.screen, TrustDialog)
        await pilot.press("enter")  # "Not now" has the focus
        assert isinstance(app.screen, QuizScreen)
        assert app.quiz.runs == {}
        await pilot.press("T", "y")
        await settle(pilot)
        assert "main" in app.quiz.results("borrowed-number")
        assert "ready" in shown(app, "#lab-status")


async def test_trust_that_cannot_be_saved_holds_for_this_run(
    borrowed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_lab: SharedLab
) -> None:
    monkeypatch.setenv("GRADQUIZ_HOME", str(write(tmp_path, "a-file", "") / "home"))
    app = app_for(discover(bundled=False), shared_lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("T", "y")
        await pilot.pause()
        assert "could not save trust" in toasts(app)
        assert "Trusted until gradquiz quits" in toasts(app)
        await settle(pilot)
        assert "main" in app.quiz.results("borrowed-number")
    assert not discover(bundled=False).trusted(app.library.questions[0])


async def test_packs_named_on_the_command_line_never_ask(
    borrowed: Path, shared_lab: SharedLab
) -> None:
    app = app_for(discover([borrowed], bundled=False, configured=False), shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query("#untrusted")
        assert "Trust pack" not in footer_text(app)
        await pilot.press("T")
        assert isinstance(app.screen, QuizScreen)
        # Not a key here: the number box takes the letter, as it would any other.
        box = app.screen.query_one("#number", Input)
        assert box.value == "T"
        box.value = ""
        await pilot.press("3", "enter")
        await settle(pilot)
        assert isinstance(app.screen, QuizScreen)
        assert app.quiz.state("borrowed-number") == "right"


async def test_a_broken_settings_file_is_told_and_the_app_starts(
    borrowed: Path, shared_lab: SharedLab
) -> None:
    settings = write(locations.home(), "settings.toml", "packs = [\n  nope\n]\n")
    app = app_for(discover(bundled=False), shared_lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        assert f"{settings}:2:3" in toasts(app)
        assert "not valid TOML" in toasts(app)
        await settle(pilot)
