"""The gradquiz terminal app. Imports no torch: experiments run in the lab's worker processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from gradquiz.format import Library, Question
from gradquiz.lab.protocol import VariantRequest, VariantResult, requests_for
from gradquiz.tui.commands import JumpProvider
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.session import Session


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
    COMMANDS = App.COMMANDS | {JumpProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("ctrl+t", "toggle_dark", "Light/dark", id="theme"),
    ]

    def __init__(
        self,
        library: Library,
        trusted: Callable[[Question], bool],
        start: str | None = None,
        language: str | None = None,
        *,
        workers: int | None = None,
        lab: SharedLab | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.trusted = trusted
        self.language = language
        self.session = Session()
        # A lab handed in belongs to the caller (tests share one); the app closes only its own.
        self.owns_lab = lab is None
        self.lab = lab or SharedLab(workers)
        ids = [q.id for q in library.questions]
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
        if not self.library.complete:
            self.load_rest()
        self.start_lab()

    @work(thread=True, group="library")
    def load_rest(self) -> None:
        self.post_message(LibraryLoaded(self.library.load_rest()))

    def on_library_loaded(self, message: LibraryLoaded) -> None:
        # The questions read first are the new library's first ones: indexes stay valid.
        self.library = message.library
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

    @work(thread=True, group="lab", exit_on_error=False)
    def start_lab(self) -> None:
        self.lab.start()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def quiz_screen(self) -> QuizScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, QuizScreen)), None)

    def jump(self, question_id: str) -> None:
        ids = [q.id for q in self.library.questions]
        screen = self.quiz_screen()
        if question_id in ids and screen is not None:
            while self.screen is not screen:
                self.pop_screen()
            screen.call_later(screen.show, ids.index(question_id))

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
        mine = None if arrangement is None else list(arrangement)
        requests = requests_for(question, arrangement=mine)
        if arrangement is not None:
            requests = [r for r in requests if r.variant not in have or r.variant == "yours"]
        self.session.started(question.id)
        self.run_requests(question.id, requests, arrangement)

    @work(thread=True, group="lab", exit_on_error=False)
    def run_requests(
        self, question_id: str, requests: list[VariantRequest], arrangement: tuple[str, ...] | None
    ) -> None:
        self.painted.wait()
        results = self.lab.run_all(requests)
        self.post_message(ExperimentFinished(question_id, results, arrangement))

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


def run_app(
    library: Library,
    trusted: Callable[[Question], bool],
    start: str | None,
    language: str | None,
) -> int:
    app = GradquizApp(library, trusted, start, language)
    try:
        app.run()
    finally:
        app.lab.close()
    return 0
