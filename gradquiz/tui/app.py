"""The gradquiz terminal app. Imports no torch: experiments run in the lab's worker processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from gradquiz import startup
from gradquiz.format import Library, Question
from gradquiz.packs import TrustPolicy, as_policy
from gradquiz.tui.commands import ActionsProvider, JumpProvider
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.session import Answered, Session, State

if TYPE_CHECKING:
    from gradquiz.lab.protocol import VariantResult
    from gradquiz.progress.drill import Progress


@dataclass
class ExperimentFinished(Message):
    """A question's runs came back from the lab (posted from a worker thread)."""

    question: str
    results: list[VariantResult]
    arrangement: tuple[str, ...] | None = None


@dataclass
class LibraryLoaded(Message):
    """Every question file has been read (posted from a worker thread)."""

    library: Library


class GradquizApp(App[None]):
    TITLE = "gradquiz"
    # Absolute, so subclasses defined elsewhere (the benchmark's) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {JumpProvider, ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        # In the help and the palette: the footer's line is for the quiz's own keys.
        Binding("ctrl+t", "toggle_dark", "Light/dark", id="theme", show=False),
    ]

    def __init__(
        self,
        library: Library,
        trusted: Callable[[Question], bool] | TrustPolicy,
        start: str | None = None,
        language: str | None = None,
        *,
        workers: int | None = None,
        lab: SharedLab | None = None,
        drill: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        # Asked per pack, so trust given to one question reaches every question of its pack.
        self.trust_policy = as_policy(trusted, library)
        self.trusted = self.trust_policy.trusted
        self.language = language
        self.session = Session()
        # The questions `n` and `p` walk through: the whole library, or a drill's queue.
        self.questions: list[Question] = list(library.questions)
        self.drilling = False
        if drill:
            by_id = {q.id: q for q in library.questions}
            self.questions = [by_id[i] for i in drill if i in by_id]
            self.drilling = True
        self.progress: Progress | None = None
        self.notices: list[str] = []
        # One thread for the progress store, in order: opened first, then each answer saved;
        # closing waits for it, so an answer given just before quitting is not lost.
        self._progress_thread = ThreadPoolExecutor(1, thread_name_prefix="progress")
        # A lab handed in belongs to the caller (tests share one); the app closes only its own.
        self.owns_lab = lab is None
        self.lab = lab or SharedLab(workers)
        ids = [q.id for q in self.questions]
        self.start_index = ids.index(start) if start in ids else 0
        self.painted = threading.Event()
        # The first screen needs only the files up to its question; the rest are read after it
        # is drawn, and whatever needs every question awaits `whole_library`.
        self.library_loaded = asyncio.Event()
        if library.complete:
            self.library_loaded.set()

    def on_mount(self) -> None:
        self.push_screen(QuizScreen(self.start_index))

    def question_shown(self) -> None:
        """The quiz screen has drawn a question: start what would have slowed the first one.

        Worker processes import torch as they start, on the same cores the first paint needs,
        and the rest of the question files are parsed in this process; so both wait until the
        first question is on the screen, and runs asked for earlier wait too.
        """
        if self.painted.is_set():
            return
        self.painted.set()
        startup.resume()
        if not self.library.complete:
            self.load_rest()
        self.start_lab()
        self._progress_thread.submit(self._open_progress)

    @work(thread=True, group="library")
    def load_rest(self) -> None:
        self.post_message(LibraryLoaded(self.library.load_rest()))

    def on_library_loaded(self, message: LibraryLoaded) -> None:
        # The questions read first are the new library's first ones: indexes stay valid.
        self.library = message.library
        self.trust_policy.library = message.library
        if not self.drilling:
            self.questions = list(message.library.questions)
        self.library_loaded.set()
        screen = self.quiz_screen()
        if screen is not None:
            screen.library_loaded()

    async def whole_library(self) -> Library:
        """The library with every file read: at once, unless the rest is still being read."""
        await self.library_loaded.wait()
        return self.library

    def on_unmount(self) -> None:
        self.painted.set()  # runs still waiting for the first paint find the lab closed
        if self.owns_lab:
            self.lab.close()
        self._progress_thread.shutdown(wait=True)
        if self.progress is not None:
            self.progress.store.close()

    def _open_progress(self) -> None:
        from gradquiz.progress import open_progress

        try:
            progress, notices = open_progress()
            states = progress.states()
        except Exception as exc:  # the quiz goes on without saving rather than stopping
            self.call_from_thread(
                self.progress_opened, None, [f"Progress is not being saved: {exc}"], {}
            )
            return
        self.call_from_thread(self.progress_opened, progress, notices, states)

    def progress_opened(
        self, progress: Progress | None, notices: list[str], states: dict[str, State]
    ) -> None:
        self.progress = progress
        self.notices = notices
        self.session.saved = states
        for notice in notices:
            self.notify(notice, title="Progress", severity="warning", timeout=30)
        screen = self.quiz_screen()
        view = screen.view() if screen is not None else None
        if view is not None:
            view.update_where()

    def record(self, question: Question, answered: Answered) -> None:
        """Save a graded answer once, off the UI thread, when its runs are back (the saved
        answer names the torch that ran them)."""
        if answered.recorded or answered.verdict is None:
            return
        runs_back = question.id in self.session.results and not self.session.is_running(question.id)
        if self.can_run(question) and not runs_back:
            return
        answered.recorded = True
        torch = self.lab.torch_version if self.can_run(question) else None
        at = datetime.now(UTC)

        def save() -> None:
            if self.progress is not None:
                self.progress.record(
                    question,
                    response=plain(answered.response),
                    correct=answered.verdict is not None and answered.verdict.correct,
                    seconds=answered.seconds,
                    torch=torch,
                    now=at,
                    hints=answered.hints,
                )

        self._progress_thread.submit(save)

    @work(thread=True, group="lab", exit_on_error=False)
    def start_lab(self) -> None:
        self.lab.start()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def quiz_screen(self) -> QuizScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, QuizScreen)), None)

    def jump(self, question_id: str) -> None:
        if question_id not in {q.id for q in self.questions}:
            self.leave_drill()
        ids = [q.id for q in self.questions]
        screen = self.quiz_screen()
        if question_id in ids and screen is not None:
            while self.screen is not screen:
                self.pop_screen()
            screen.call_later(screen.show, ids.index(question_id))

    def start_drill(self, mistakes: bool = False) -> None:
        """Walk through what is due (or what was last answered wrong) instead of every question."""
        screen = self.quiz_screen()
        if self.progress is None or screen is None:
            self.notify("Progress is still being opened; try again in a moment.")
            return
        queue = self.progress.queue(self.library.questions, datetime.now(UTC), mistakes=mistakes)
        if not queue:
            self.notify(
                "No mistakes to review."
                if mistakes
                else "Nothing is due and today's new questions are done. Come back later."
            )
            return
        self.questions = queue
        self.drilling = True
        self.notify(f"Drill: {len(queue)} question(s).")
        screen.call_later(screen.show, 0)

    def leave_drill(self, at: Question | None = None) -> None:
        """Back to every question, at `at` (by default the one on screen)."""
        if not self.drilling:
            return
        screen = self.quiz_screen()
        current = at or (screen.question if screen is not None else None)
        self.questions = list(self.library.questions)
        self.drilling = False
        if screen is not None:
            screen.index = self.questions.index(current) if current in self.questions else 0

    def skip(self, question: Question) -> None:
        """Rest the question until tomorrow: no answer is logged, drills leave it out today."""
        if self.progress is not None:
            progress = self.progress
            self._progress_thread.submit(progress.skip, question, datetime.now(UTC))

    def reset_question(self, question: Question) -> None:
        self.session.answers.pop(question.id, None)
        self.session.saved.pop(question.id, None)
        if self.progress is not None:
            self.progress.store.reset([question.id])
        screen = self.quiz_screen()
        if screen is not None and screen.question is question:
            screen.call_later(screen.show, screen.index)

    def can_run(self, question: Question) -> bool:
        return question.experiment is not None and self.trusted(question)

    def run_experiment(
        self, question: Question, arrangement: tuple[str, ...] | None = None, again: bool = False
    ) -> None:
        """Start the question's runs unless their results are here or on their way."""
        if not self.can_run(question):
            return
        have = self.session.results.get(question.id, {})
        if again:
            have = {}
            self.session.results.pop(question.id, None)
        elif arrangement is None and (have or self.session.is_running(question.id)):
            return
        self.session.started(question.id)
        self.run_requests(question, arrangement, frozenset(have))

    @work(thread=True, group="lab", exit_on_error=False)
    def run_requests(
        self, question: Question, arrangement: tuple[str, ...] | None, have: frozenset[str]
    ) -> None:
        self.painted.wait()
        # Imported here, after the first paint, with the rest of what running needs.
        from gradquiz.lab.protocol import requests_for

        mine = None if arrangement is None else list(arrangement)
        requests = requests_for(question, arrangement=mine)
        if arrangement is not None:
            # Only the learner's arrangement is new; the key's variants already ran.
            requests = [r for r in requests if r.variant not in have or r.variant == "yours"]
        results = self.lab.run_all(requests)
        self.post_message(ExperimentFinished(question.id, results, arrangement))

    def on_experiment_finished(self, message: ExperimentFinished) -> None:
        self.session.finished(message.question)
        merged = self.session.results.setdefault(message.question, {})
        for result in message.results:
            merged[result.variant] = result
        if message.arrangement is not None:
            self.session.arrangements[message.question] = message.arrangement
        screen = self.quiz_screen()
        if screen is not None:
            screen.experiment_finished(message.question)


def plain(response: object) -> object:
    """An answer as JSON can hold it: choice sets sorted, arrangements as lists."""
    if isinstance(response, frozenset):
        return sorted(response)
    if isinstance(response, tuple):
        return list(response)
    return response


def run_app(
    library: Library,
    trusted: Callable[[Question], bool] | TrustPolicy,
    start: str | None,
    language: str | None,
    drill: list[str] | None = None,
) -> int:
    app = GradquizApp(library, trusted, start, language, drill=drill)
    try:
        app.run()
    finally:
        app.lab.close()
    return 0
