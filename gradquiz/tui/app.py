"""The gradquiz terminal app. Imports no torch: experiments run in the lab's worker processes.

The quiz's state and rules live in `gradquiz.quiz`; the app owns that model, runs what it asks
for (experiments in the lab, saves on the progress thread) and has the screens draw it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from gradquiz import startup
from gradquiz.display import one_line, plural, printable
from gradquiz.format import Library, Question
from gradquiz.format.model import YOURS
from gradquiz.i18n import N_, _
from gradquiz.packs import TrustPolicy, as_policy
from gradquiz.quiz import Quiz, State
from gradquiz.trust import TrustNotSaved
from gradquiz.tui import saving
from gradquiz.tui.commands import ActionsProvider, JumpProvider
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.messages import (
    AnswerGiven,
    CloserLookAsked,
    DrillAsked,
    InTurn,
    JumpAsked,
    MoveAsked,
    ProgressChanged,
    RerunAsked,
    ResetAsked,
    SkipAsked,
    StreakToggled,
    TrustGiven,
)
from gradquiz.tui.saving import Saves, SavesDone
from gradquiz.tui.screens.quiz import QuizScreen

if TYPE_CHECKING:
    from gradquiz.lab.cache import Kept, ResultCache
    from gradquiz.lab.protocol import VariantRequest, VariantResult
    from gradquiz.progress.drill import Progress
    from gradquiz.tui.widgets.lab import LabPanel

T = TypeVar("T")

# Textual's own words in the command palette, marked so the catalogue has them.
TEXTUAL_WORDS = (
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit the application as soon as possible"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
)

# Kept results are drawn before the lab's workers start (their torch import takes the cores
# the drawing needs), but the fresh runs wait no longer than this for them.
KEPT_FIRST_SECONDS = 1.5


@dataclass
class ExperimentFinished(Message):
    """A question's runs came back from the lab (posted from a worker thread)."""

    question: str
    results: list[VariantResult]
    arrangement: tuple[str, ...] | None = None
    # Kept results were shown for these runs, and the fresh ones differ from them.
    revised: bool = False
    # Kept results that stay on show: their fresh runs did not finish (`unfinished` says why).
    stood: list[Kept] = field(default_factory=list)
    unfinished: str | None = None
    # The batch's round (Quiz.runs_started): one started before a re-run comes back stale.
    round_: int | None = None


@dataclass
class KeptFound(Message):
    """Kept results of a question's runs, while the fresh runs go on (from a worker thread)."""

    question: str
    kept: list[Kept]
    arrangement: tuple[str, ...] | None = None
    round_: int | None = None


@dataclass
class LibraryLoaded(Message):
    """Every question file has been read (posted from a worker thread)."""

    library: Library


@dataclass
class ProgressOpened(Message):
    """The progress store is open (or could not be), with what the learner should be told."""

    progress: Progress | None
    notices: list[str]
    states: dict[str, State]
    due: dict[str, datetime]
    leeches: set[str] = field(default_factory=set)


class GradquizApp(App[None]):
    TITLE = "gradquiz"
    # Absolute, so subclasses defined elsewhere (the benchmark's) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {JumpProvider, ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", priority=True),
        # In the help and the palette: the footer's line is for the quiz's own keys.
        Binding("ctrl+t", "toggle_dark", N_("Light/dark"), id="theme", show=False),
        # Before any input's own undo: in gradquiz, ctrl+z takes back an answer, as in Anki.
        Binding("ctrl+z", "undo", N_("Undo last answer"), id="undo", show=False, priority=True),
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
        self.quiz = Quiz(library.questions, self.can_run, start=start, drill=drill)
        self.progress: Progress | None = None
        self._opened: Progress | None = None
        self.notices: list[str] = []
        # One thread for the progress store, in order: opened first, then each answer saved.
        self._progress_thread = ThreadPoolExecutor(1, thread_name_prefix="progress")
        self.saves = Saves(self._progress_thread, self.quiz, self.post_message)
        self._retry: Timer | None = None
        # Answers that could not be written even at exit: said on stderr once the screen is gone.
        self.lost: list[str] = []
        # A lab handed in belongs to the caller (tests share one); the app closes only its own.
        self.owns_lab = lab is None
        self.lab = lab or SharedLab(workers)
        # Kept results, opened by the first run (it reads package metadata: not before the
        # first paint); fresh runs write to it, so the next session's first answer is instant.
        self._results_cache: ResultCache | None = None
        self._cache_lock = threading.Lock()
        # Set once a question's kept results are drawn, for the runs waiting to start the lab.
        self._kept_drawn: dict[str, threading.Event] = {}
        self.painted = threading.Event()
        # The first screen needs only the files up to its question; the rest are read after it
        # is drawn, and whatever needs every question awaits `whole_library`.
        self.library_loaded = asyncio.Event()
        if library.complete:
            self.library_loaded.set()

    def on_mount(self) -> None:
        self.push_screen(QuizScreen())

    def question_shown(self) -> None:
        """The quiz screen has drawn a question: start its runs, and after the first one what
        would have slowed it.

        Worker processes import torch as they start, on the same cores the first paint needs,
        and the rest of the question files are parsed in this process; so both wait until the
        first question is on the screen.
        """
        question = self.quiz.question
        if question is not None:
            self.run_experiment(question)
        if self.painted.is_set():
            return
        self.painted.set()
        startup.resume()
        if not self.library.complete:
            self.load_rest()
        # The first question's runs start the lab themselves, after drawing any kept results.
        if question is None or not self.quiz.running(question.id):
            self.start_lab()
        self._progress_thread.submit(self._open_progress)

    @work(thread=True, group="library")
    def load_rest(self) -> None:
        self.post_message(LibraryLoaded(self.library.load_rest()))

    async def on_library_loaded(self, message: LibraryLoaded) -> None:
        # The questions read first are the new library's first ones: positions stay valid.
        self.library = message.library
        self.trust_policy.library = message.library
        self.quiz.bank_grew(message.library.questions)
        self.library_loaded.set()
        await self.reopen()

    async def whole_library(self) -> Library:
        """The library with every file read: at once, unless the rest is still being read.

        Awaited by screens, never in the app's own handlers: the message that completes it
        waits in the app's queue behind them.
        """
        await self.library_loaded.wait()
        return self.library

    def on_unmount(self) -> None:
        self.painted.set()  # runs still waiting for the first paint find the lab closed
        if self.owns_lab:
            self.lab.close()
        self._progress_thread.shutdown(wait=True)
        self.save_before_exit()
        if self._opened is not None:
            self._opened.store.close()

    # Progress.

    def _open_progress(self) -> None:
        from gradquiz.progress import open_progress

        try:
            progress, notices = open_progress()
            states = progress.states()
            due = {q: card.due for q, card in progress.store.cards().items()}
            leeches = progress.leeches()
        except Exception as exc:  # the quiz goes on without saving rather than stopping
            self.post_message(
                ProgressOpened(
                    None, [_("Progress is not being saved: {reason}").format(reason=exc)], {}, {}
                )
            )
            return
        # Kept here too: quitting before the message is read must still save and close it.
        self._opened = progress
        self.post_message(ProgressOpened(progress, notices, states, due, leeches))

    async def on_event(self, event: events.Event) -> None:
        # A key pressed before progress is open (the first paint comes first) is meant for the
        # question on screen, not for the one where the learner left off.
        if isinstance(event, events.Key) and (self.progress is None or not self.library.complete):
            self.quiz.stay()
        await super().on_event(event)

    async def on_progress_opened(self, message: ProgressOpened) -> None:
        self.progress = message.progress
        self.notices = message.notices
        self.quiz.saved.update(message.states)
        self.quiz.due = message.due
        self.quiz.leeches = set(message.leeches)
        for notice in message.notices:
            self.notify(
                printable(notice), title=_("Progress"), severity="warning", timeout=30, markup=False
            )
        await self.reopen()
        shown = self.quiz.question
        if shown is not None and self.quiz.is_leech(shown.id) and not self.quiz.answered(shown):
            # Drawn before progress said it is a leech: draw it again as a closer look.
            await self.show_current()
        self.save_ready()

    async def reopen(self) -> None:
        """Once both progress and every question are here, go where the learner left off."""
        screen = self.quiz_screen()
        if screen is None:
            return
        ready = self.progress is not None and self.library.complete
        if ready and self.quiz.reopen(datetime.now(UTC)):
            await screen.show_current()
        else:
            screen.update_where()

    def save_ready(self) -> None:
        """Hand every answer ready to be written to the progress thread."""
        progress = self.progress
        if progress is None:
            return  # saved once progress is open
        self.saves.hand_out(progress)

    def on_saves_done(self, message: SavesDone) -> None:
        told = self.saves.taken_in(message.future)
        if told is None:
            return  # already taken in at exit
        for answered, problem in told:
            title = one_line(answered.question.title.get(self.language))
            if problem is None:
                self.notify(
                    _("Saved now: your answer to “{title}”.").format(title=title), markup=False
                )
            else:
                self.notify(
                    _(
                        "Not saved: your answer to “{title}” ({problem}). gradquiz will try "
                        "again, and once more before it quits."
                    ).format(title=title, problem=problem),
                    title=_("Progress"),
                    severity="error",
                    timeout=30,
                    markup=False,
                )
        if self.quiz.failing() and self._retry is None:
            self._retry = self.set_timer(saving.RETRY_SECONDS, self.retry_saves)
        screen = self.quiz_screen()
        if screen is not None:
            screen.update_where()

    def retry_saves(self) -> None:
        self._retry = None
        self.save_ready()

    def save_before_exit(self) -> None:
        self.lost.extend(self.saves.at_exit(self._opened, self.language))

    # What the screens ask for.

    def on_in_turn(self, message: InTurn) -> None:
        message.callback()

    async def on_answer_given(self, message: AnswerGiven) -> None:
        question = self.question_by_id(message.question)
        if question is None:
            return
        answered = self.quiz.submit(
            question, message.response, datetime.now(UTC), message.seconds, message.hints
        )
        if answered is None:
            return
        if isinstance(message.response, tuple) and self.can_run(question):
            self.run_experiment(question, arrangement=message.response)
        self.save_ready()
        screen = self.quiz_screen()
        if screen is not None:
            await screen.answer_taken(question.id)

    async def on_move_asked(self, message: MoveAsked) -> None:
        over = self.quiz.move(message.delta)
        if over is not None:
            self.notify(over.summary(datetime.now(UTC), self.language), timeout=15, markup=False)
        await self.show_current()

    async def on_jump_asked(self, message: JumpAsked) -> None:
        screen = self.quiz_screen()
        if screen is None or not self.quiz.go_to(message.question):
            return
        while self.screen is not screen:
            self.pop_screen()
        await screen.show_current()

    async def on_drill_asked(self, message: DrillAsked) -> None:
        progress = self.progress
        if progress is None:
            self.notify(_("Progress is still being opened; try again in a moment."))
            return
        questions = list(self.library.questions)
        # On the progress thread: after the answers being saved, so they count.
        queue = await self.on_progress_thread(
            _("No drill"),
            progress.queue,
            questions,
            datetime.now(UTC),
            mistakes=message.mistakes,
        )
        if queue is None:
            return
        if not queue:
            self.notify(
                _("No mistakes to review.")
                if message.mistakes
                else _("Nothing is due and today's new questions are done. Come back later.")
            )
            return
        self.quiz.start_drill(queue)
        count = len(queue)
        self.notify(plural(count, "Drill: {n} question.", "Drill: {n} questions."))
        while not isinstance(self.screen, QuizScreen):
            self.pop_screen()
        await self.show_current()

    async def on_closer_look_asked(self, message: CloserLookAsked) -> None:
        if self.quiz.closer_look(message.question):
            await self.show_current()

    async def on_skip_asked(self, message: SkipAsked) -> None:
        """Rest the question until tomorrow: no answer is logged, drills leave it out today."""
        question = self.question_by_id(message.question)
        if question is None:
            return
        if self.progress is not None:
            self.run_worker(
                self.on_progress_thread(
                    _("Not skipped"), self.progress.skip, question, datetime.now(UTC)
                )
            )
        self.notify(
            _("Skipped for today: {title}").format(
                title=one_line(question.title.get(self.language))
            ),
            markup=False,
        )
        if self.quiz.drill is not None:
            over = self.quiz.drop_from_drill(question)
            if over is not None:
                self.notify(_("Drill over: nothing left for today."))
        else:
            self.quiz.move(1)
        await self.show_current()

    async def on_rerun_asked(self, message: RerunAsked) -> None:
        question = self.question_by_id(message.question)
        if question is None:
            return
        answered = self.quiz.answered(question)
        arrangement = None
        if answered is not None and isinstance(answered.response, tuple):
            # The learner's arrangement is part of the experiment: run it again too.
            arrangement = answered.response
        self.run_experiment(question, arrangement, again=True)
        screen = self.quiz_screen()
        if screen is not None:
            screen.runs_changed(question.id)

    async def on_trust_given(self, message: TrustGiven) -> None:
        question = self.question_by_id(message.question)
        if question is None:
            return
        try:
            self.trust_policy.trust(question.pack)
        except TrustNotSaved as exc:
            self.notify(
                _("{reason}. Trusted until gradquiz quits.").format(reason=printable(str(exc))),
                severity="warning",
                timeout=15,
                markup=False,
            )
        # Answers given while the pack was not trusted can be graded now: run what they wait for.
        for answered in self.quiz.waiting():
            if answered.question.pack is question.pack:
                arrangement = answered.response if isinstance(answered.response, tuple) else None
                self.run_experiment(answered.question, arrangement)
        # An order answer about to be submitted runs with its arrangement: not twice.
        if not (message.submitting and question.type == "order"):
            self.run_experiment(question)
        screen = self.quiz_screen()
        if screen is None:
            return
        await screen.trust_given(question.id)
        view = screen.view()
        if message.submitting and view is not None and view.question is question:
            view.submit()

    async def on_reset_asked(self, message: ResetAsked) -> None:
        progress = self.progress
        if progress is None:
            return
        ids = None if message.questions is None else list(message.questions)
        gone = await self.on_progress_thread(_("Nothing was reset"), progress.store.reset, ids)
        if gone is None:
            return
        self.quiz.reset(ids)
        self.notify(
            plural(
                gone,
                "Progress reset: {n} answer forgotten.",
                "Progress reset: {n} answers forgotten.",
            )
        )
        self.screen.post_message(ProgressChanged())
        quiz_screen = self.quiz_screen()
        shown = quiz_screen.question if quiz_screen is not None else None
        if quiz_screen is not None and shown is not None and (ids is None or shown.id in ids):
            quiz_screen.call_later(quiz_screen.show_current)

    async def on_streak_toggled(self, message: StreakToggled) -> None:
        from gradquiz.progress.stats import STREAK_PREF, streak_enabled

        progress = self.progress
        if progress is None:
            return

        def toggle() -> bool:
            progress.store.set_pref(STREAK_PREF, "off" if streak_enabled(progress) else "on")
            return True

        if await self.on_progress_thread(_("The streak setting was not saved"), toggle):
            self.screen.post_message(ProgressChanged())

    def on_progress_thread(
        self, failed: str, action: Callable[..., T], *args: Any, **kwargs: Any
    ) -> Awaitable[T | None]:
        """`action` on the progress thread, handed to it now (after the saves handed to it
        before); awaited, its result, or None with a notice beginning with `failed` when the
        disk or the database refused."""
        return self._outcome(failed, self._progress_thread.submit(partial(action, *args, **kwargs)))

    async def _outcome(self, failed: str, future: Future[T]) -> T | None:
        import sqlite3

        from gradquiz.progress.saving import why_not_saved

        try:
            return await asyncio.wrap_future(future)
        except (OSError, sqlite3.Error) as exc:
            self.notify(
                _("{failed}: {reason}.").format(failed=failed, reason=why_not_saved(exc)),
                severity="error",
                timeout=15,
                markup=False,
            )
            return None

    # Screens and keys.

    async def action_undo(self) -> None:
        """Take back the last answer of the session, from the store too once it is saved."""
        answered = self.quiz.to_undo()
        if isinstance(answered, str):
            self.notify(answered)
            return
        review, progress = answered.review, self.progress
        if review is not None and progress is not None:
            done = await self.on_progress_thread(_("Not undone"), progress.undo, review)
            if done is None:
                return
            if self.quiz.to_undo() is not answered:
                return  # ctrl+z twice: the first one took it back
        self.quiz.undo(answered)
        title = one_line(answered.question.title.get(self.language))
        self.notify(
            _("Undone: your answer to “{title}”. Answer it again.").format(title=title),
            markup=False,
        )
        screen = self.quiz_screen()
        if screen is None:
            return
        while self.screen is not screen:
            self.pop_screen()
        await screen.show_current()

    async def show_current(self) -> None:
        screen = self.quiz_screen()
        if screen is not None:
            await screen.show_current()

    def question_by_id(self, question_id: str) -> Question | None:
        return self.quiz.attempt_by_id(question_id)

    @work(thread=True, group="lab", exit_on_error=False)
    def start_lab(self) -> None:
        self.lab.start()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        """One list of keys, whichever way it is asked for (`?`, the palette)."""
        from gradquiz.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_screenshot_here(self) -> None:
        """An SVG of the screen in ~/Downloads, or where gradquiz was started when there is
        no such folder."""
        downloads = Path.home() / "Downloads"
        folder = downloads if downloads.is_dir() else Path.cwd()
        try:
            path = self.save_screenshot(path=str(folder))
        except OSError as exc:
            self.notify(
                _("No screenshot: {reason} ({folder}).").format(reason=exc.strerror, folder=folder),
                severity="error",
                markup=False,
            )
            return
        self.notify(_("Screenshot saved: {path}").format(path=path), markup=False)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Keys":
                yield SystemCommand(_("Keys"), _("Every key gradquiz answers to"), self.action_help)
            elif command.title == "Screenshot":
                yield SystemCommand(
                    _("Screenshot"),
                    _("Save an SVG of the screen in ~/Downloads (or the current folder)"),
                    self.action_screenshot_here,
                )
            else:
                # Textual's own entries (theme, quit, maximize…), in the learner's language.
                yield command._replace(title=_(command.title), help=_(command.help))

    def action_command_palette(self) -> None:
        """Textual's palette, with its prompt in the learner's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(
                CommandPalette(id="--command-palette", placeholder=_("Search for commands…"))
            )

    def quiz_screen(self) -> QuizScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, QuizScreen)), None)

    def can_run(self, question: Question) -> bool:
        return question.experiment is not None and self.trusted(question)

    def run_experiment(
        self, question: Question, arrangement: tuple[str, ...] | None = None, again: bool = False
    ) -> None:
        """Start the question's runs unless their results are here or on their way."""
        if arrangement is None and not self.quiz.wants_runs(question, again=again):
            return
        if not self.can_run(question):
            return
        have = frozenset(self.quiz.results(question.id))
        round_ = self.quiz.runs_started(question.id, again=again)
        screen = self.quiz_screen()
        view = screen.view() if screen is not None else None
        shown = view is not None and view.question.id == question.id
        if view is not None and shown and view.is_mounted and not view.retired:
            view.update_status()  # "waiting for the lab" is over: it is running now
        # A re-run is asked for to see a fresh run: kept results are not shown for it.
        self.run_requests(
            question, arrangement, frozenset() if again else have, round_, kept=not again
        )

    def results_cache(self) -> ResultCache:
        """The kept results (opened on first use, off the UI thread)."""
        with self._cache_lock:
            if self._results_cache is None:
                from gradquiz import locations
                from gradquiz.lab.cache import ResultCache

                self._results_cache = ResultCache(locations.kept_results())
            return self._results_cache

    @work(thread=True, group="lab", exit_on_error=False)
    def run_requests(
        self,
        question: Question,
        arrangement: tuple[str, ...] | None,
        have: frozenset[str],
        round_: int,
        kept: bool = True,
    ) -> None:
        self.painted.wait()
        # Imported here, after the first paint, with the rest of what running needs.
        from gradquiz.lab.cache import kept_then_fresh, same_run
        from gradquiz.lab.protocol import UNFINISHED, requests_for

        mine = None if arrangement is None else list(arrangement)
        requests = requests_for(question, arrangement=mine)
        if arrangement is not None:
            # Only the learner's arrangement is new; the key's variants already ran.
            requests = [r for r in requests if r.variant not in have or r.variant == YOURS]
        shown: list[Kept] = []
        drawn = threading.Event()

        def show_kept(found: list[Kept]) -> None:
            shown.extend(found)
            self._kept_drawn[question.id] = drawn
            self.post_message(KeptFound(question.id, found, arrangement, round_))

        def run_all(requests: Sequence[VariantRequest]) -> list[VariantResult]:
            if shown and not self.lab.started:
                drawn.wait(KEPT_FIRST_SECONDS)
            return self.lab.run_all(requests)

        cache = self.results_cache()
        if kept:
            results = kept_then_fresh(cache, requests, run_all, show_kept)
        else:
            results = self.lab.run_all(requests)
            for request, result in zip(requests, results, strict=True):
                cache.put(request, result)
        # A fresh run that shows what the kept one showed leaves the kept result in place, so
        # the lab is not drawn again (the learner may be reading another variant's table). So
        # does one that did not finish (a machine too busy for the timeout, the lab gone),
        # which says nothing about the question.
        revised = False
        stood: list[Kept] = []
        unfinished = None
        for index, (before, fresh) in enumerate(zip(shown, results, strict=False)):
            if fresh.error is not None and fresh.error.type in UNFINISHED:
                stood.append(before)
                unfinished = unfinished or fresh.error.message or fresh.error.type
            elif not same_run(before.result, fresh):
                revised = True
                continue
            results[index] = before.result
        self.post_message(
            ExperimentFinished(
                question.id, results, arrangement, revised, stood, unfinished, round_
            )
        )

    def on_kept_found(self, message: KeptFound) -> None:
        self.quiz.kept_arrived(
            message.question, message.kept, message.arrangement, round_=message.round_
        )
        # Graded from kept results, which a fresh run of the same request repeats: saved now.
        self.save_ready()
        screen = self.quiz_screen()
        if screen is not None:
            screen.runs_changed(message.question)

    def on_lab_panel_tables_drawn(self, message: LabPanel.TablesDrawn) -> None:
        drawn = self._kept_drawn.pop(message.question, None)
        if drawn is not None:
            drawn.set()

    def on_experiment_finished(self, message: ExperimentFinished) -> None:
        # Started before a re-run asked for since: nothing it says is on show.
        stale = message.round_ is not None and message.round_ != self.quiz.round(message.question)
        self.quiz.runs_arrived(
            message.question,
            message.results,
            message.arrangement,
            self.lab.torch_version,
            stood=message.stood,
            round_=message.round_,
        )
        # Every answer waiting on these runs is graded now, on screen or not: save it.
        self.save_ready()
        screen = self.quiz_screen()
        question = self.question_by_id(message.question)
        title = one_line(question.title.get(self.language)) if question else message.question
        if message.revised and not stale:
            self.notify(
                _(
                    "The fresh run of “{title}” differs from its kept result: the lab shows the "
                    "fresh one."
                ).format(title=title),
                markup=False,
            )
        if message.unfinished is not None and not stale:
            self.notify(
                _(
                    "The fresh run of “{title}” did not finish ({reason}): the lab goes on "
                    "showing its kept result; r runs it again."
                ).format(title=title, reason=printable(message.unfinished)),
                severity="warning",
                markup=False,
            )
        if screen is not None:
            screen.runs_changed(message.question)
        self.run_ahead(message.question)

    def run_ahead(self, question_id: str) -> None:
        """Once the runs of the question on screen are back, start the next one's: `n` shows
        its lab at once, and its results are kept for the next session, which usually opens on
        it (the first question not answered yet)."""
        current = self.quiz.question
        if current is None or current.id != question_id or self.quiz.running(question_id):
            return
        upcoming = self.quiz.upcoming()
        if upcoming is not None and upcoming.id != question_id:
            self.run_experiment(upcoming)


def run_app(
    library: Library,
    trusted: Callable[[Question], bool] | TrustPolicy,
    start: str | None,
    language: str | None,
    drill: list[str] | None = None,
    *,
    headless: bool = False,
) -> int:
    """Run the app; the exit code is non-zero when it stopped on an error, or when answers
    could not be saved even at exit."""
    app = GradquizApp(library, trusted, start, language, drill=drill)
    try:
        app.run(headless=headless)
    finally:
        app.lab.close()
    for line in app.lost:
        print(f"gradquiz: {line}", file=sys.stderr)
    return app.return_code or (1 if app.lost else 0)
