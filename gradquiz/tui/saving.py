"""The app's answers on their way to the progress store.

Each batch of graded answers is written on the progress thread, in order, retried while the
disk or the database pushes back; what came of it is taken in once; at exit whatever is left
is written or named as lost. The app says what the learner should hear.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from gradquiz.display import one_line
from gradquiz.i18n import _

if TYPE_CHECKING:
    from datetime import datetime

    from gradquiz.progress.drill import Progress, Review
    from gradquiz.quiz import Answered, Quiz

# A save that failed is tried again this often (and with every new answer, and at exit).
RETRY_SECONDS = 20.0


@dataclass
class Written:
    """What came of writing a batch: each answer with None (saved) or why not, and every
    question's next review as the store has it now."""

    outcomes: list[tuple[Answered, str | None]]
    due: dict[str, datetime]
    # What undoing each saved answer takes.
    reviews: dict[Answered, Review] = field(default_factory=dict)


@dataclass
class SavesDone(Message):
    """The progress thread finished writing a batch of answers."""

    future: Future[Written]


class Saves:
    """The batches handed to the progress thread and not yet taken in."""

    def __init__(
        self, thread: ThreadPoolExecutor, quiz: Quiz, post: Callable[[Message], object]
    ) -> None:
        self.thread = thread
        self.quiz = quiz
        self.post = post
        # Waited for before exiting.
        self.pending: set[Future[Written]] = set()

    def hand_out(self, progress: Progress) -> None:
        """Hand every answer ready to be written to the progress thread; `SavesDone` is
        posted when it is written."""
        batch = self.quiz.to_save()
        if not batch:
            return
        future = self.thread.submit(write_answers, progress, batch)
        self.pending.add(future)
        future.add_done_callback(lambda done: self.post(SavesDone(done)))

    def taken_in(self, future: Future[Written]) -> list[tuple[Answered, str | None]] | None:
        """The answers of a written batch the learner should hear about, each with None
        (saved) or why not; None if the batch was taken in at exit already."""
        if future not in self.pending:
            return None
        self.pending.discard(future)
        written = future.result()
        self.quiz.due.update(written.due)
        return [
            (answered, problem)
            for answered, problem in written.outcomes
            if self.quiz.save_done(answered, problem, written.reviews.get(answered))
        ]

    def at_exit(self, progress: Progress | None, language: str | None) -> list[str]:
        """Written before the app goes: what the progress thread finished, then every graded
        answer still unsaved (its runs may never have come back). Returns a line for each
        answer that could not be saved."""
        lost: list[str] = []
        for future in self.pending:
            for answered, problem in future.result().outcomes:
                self.quiz.save_done(answered, problem)
        self.pending.clear()
        if progress is None:
            return lost
        for answered, problem in write_answers(progress, self.quiz.to_save(leaving=True)).outcomes:
            self.quiz.save_done(answered, problem)
            if problem is not None:
                title = one_line(answered.question.title.get(language))
                lost.append(
                    _("not saved: your answer to “{title}” ({problem})").format(
                        title=title, problem=problem
                    )
                )
        for answered in self.quiz.waiting():
            # Ungraded: a number or an arrangement is only right or wrong once it has run.
            title = one_line(answered.question.title.get(language))
            lost.append(
                _("not saved: your answer to “{title}” (its experiment had not come back)").format(
                    title=title
                )
            )
        return lost


def write_answers(progress: Progress, batch: list[Answered]) -> Written:
    """Write each answer, retried while the disk or the database pushes back: each with None
    when saved, or why it was not. Runs on the progress thread (or at exit)."""
    import sqlite3

    from gradquiz.progress.saving import retried, why_not_saved

    outcomes: list[tuple[Answered, str | None]] = []
    reviews: dict[Answered, Review] = {}
    for answered in batch:
        verdict = answered.verdict
        assert verdict is not None
        try:
            reviews[answered] = retried(
                partial(
                    progress.review,
                    answered.question,
                    response=plain(answered.response),
                    correct=verdict.correct,
                    seconds=answered.seconds,
                    torch=answered.torch,
                    now=answered.at,
                    hints=answered.hints,
                )
            )
        except (OSError, sqlite3.Error) as exc:
            outcomes.append((answered, why_not_saved(exc)))
        else:
            outcomes.append((answered, None))
    try:
        due = {question: card.due for question, card in progress.store.cards().items()}
    except sqlite3.Error:
        due = {}
    return Written(outcomes, due, reviews)


def plain(response: object) -> object:
    """An answer as JSON can hold it: choice sets sorted, arrangements as lists."""
    from gradquiz.blanks import Cells

    if isinstance(response, Cells):
        return response.to_json()
    if isinstance(response, frozenset):
        return sorted(response)
    if isinstance(response, tuple):
        return list(response)
    return response
