"""The playground: a free experiment to run, compare with the previous run, and save as a
question file. Opened by `gradquiz lab [ID]` or from the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from gradquiz import playground
from gradquiz.difference import Difference, compare
from gradquiz.display import printable
from gradquiz.format.model import PackInfo, Question
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import VariantRequest, VariantResult
from gradquiz.packs import TrustPolicy
from gradquiz.playground import Experiment, Problem
from gradquiz.trust import TrustNotSaved
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.editor import ExperimentScreen

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp

PLAYGROUND = "playground"


class PlaygroundScreen(ExperimentScreen):
    """Each ctrl+r is run N, compared with run N-1."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save as question"), id="playground.save", priority=True),
        Binding("escape", "leave", N_("Leave"), id="edit.leave", priority=True),
    ]

    def __init__(self, lab: SharedLab, experiment: Experiment, source: str | None) -> None:
        title = (
            _("Playground · from {source}").format(source=source)
            if source
            else _("Playground · a small example")
        )
        super().__init__(lab, experiment, title)

    def request(self, experiment: Experiment) -> VariantRequest:
        return playground.request(
            experiment, PLAYGROUND, _("run {number}").format(number=self.runs)
        )

    def differences(self, result: VariantResult) -> list[tuple[str, Difference]]:
        previous = self.last
        if previous is None:
            return []
        return [
            (_("Against the previous run:"), compare(result, previous, self.experiment.tolerance))
        ]

    def action_save(self) -> None:
        self.in_turn(self.save)

    def save(self) -> None:
        texts = self.texts()
        if isinstance(texts, Problem):
            self.status(_("✗ Not saved: {problem}").format(problem=texts), error=True)
            self.point_at(texts.part, texts.line)
            return

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                question_id = playground.save_question(texts, Path(path).expanduser())
            except FileExistsError:
                self.status(
                    _("✗ Not saved: {path} exists (nothing is overwritten).").format(path=path),
                    error=True,
                )
            except OSError as exc:
                self.status(
                    _("✗ Not saved: {reason} ({path}).").format(
                        reason=exc.strerror or exc, path=path
                    ),
                    error=True,
                )
            else:
                self.status(
                    _(
                        "Saved question {id} to {path}: fill in its prompt, choices and "
                        "answer, then `gradquiz check {path}`."
                    ).format(id=question_id, path=path)
                )

        self.app.push_screen(SaveDialog(), chosen)


class SaveDialog(ModalScreen[str | None]):
    """Where to write the question file: a path the user types."""

    CSS_PATH = "../editor.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", N_("Cancel"), id="save.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(_("Save as question: the new file's path (Enter saves, Esc cancels)"))
            yield Input(placeholder=_("my-question.yaml"), id="save-path")

    @on(Input.Submitted, "#save-path")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


@dataclass(frozen=True)
class TrustAsked:
    """The playground is filled from a pack not trusted: ask before showing it, as the quiz
    does before running it."""

    policy: TrustPolicy
    pack: PackInfo


class PlaygroundApp(App[None]):
    """`gradquiz lab`: the playground on its own, with a lab of its own."""

    TITLE = "gradquiz lab"
    # The app's styles: its dialogs (trust) look as they do in the quiz.
    CSS_PATH = Path(__file__).parent.parent / "app.tcss"

    def __init__(
        self,
        experiment: Experiment,
        source: str | None,
        lab: SharedLab | None = None,
        ask: TrustAsked | None = None,
    ) -> None:
        super().__init__()
        # A lab handed in belongs to the caller (tests share one); the app closes only its own.
        self.owns_lab = lab is None
        self.lab = lab or SharedLab(1)
        self.experiment = experiment
        self.source = source
        self.ask = ask
        # The learner said no to trusting the pack: nothing was shown or run.
        self.refused = False

    def on_mount(self) -> None:
        from gradquiz.tui.screens.dialogs import TrustDialog

        ask = self.ask
        if ask is None:
            self.open()
            return
        dialog = TrustDialog(ask.policy.summary(ask.pack), ask.policy.why_not(ask.pack))
        self.push_screen(dialog, self.decided)

    def decided(self, trust: bool | None) -> None:
        if not trust or self.ask is None:
            self.refused = True
            self.exit()
            return
        try:
            self.ask.policy.trust(self.ask.pack)
        except TrustNotSaved as exc:
            self.notify(
                _("{reason}. Trusted until gradquiz quits.").format(reason=printable(str(exc))),
                severity="warning",
                timeout=15,
                markup=False,
            )
        self.open()

    def open(self) -> None:
        self.push_screen(PlaygroundScreen(self.lab, self.experiment, self.source), self.left)

    def left(self, kept: Experiment | None) -> None:
        self.exit()

    def on_unmount(self) -> None:
        if self.owns_lab:
            self.lab.close()


def open_playground(app: GradquizApp, question: Question | None) -> None:
    """The playground over the app, filled from `question` (the example without one); it
    shares the app's lab. An untrusted pack's code is not copied into it: it would run unasked."""
    if question is not None and question.experiment is not None and app.trusted(question):
        experiment, source = playground.from_question(question), question.id
    else:
        experiment, source = playground.EXAMPLE, None
        if question is not None and question.experiment is not None:
            app.notify(_("The pack is not trusted: the playground starts from a small example."))
    app.push_screen(PlaygroundScreen(app.lab, experiment, source))
