"""The quiz without a screen: the questions walked, each answer's life, drills. No textual
or torch.

An answer is submitted, waits for the runs it needs, is graded, then saved. Runs come back
through `runs_arrived`, which grades every answer waiting on them, whatever is on the screen;
`to_save` then hands out what is ready to be written. Kept results (`kept_arrived`: the same
run, by the same versions, from an earlier session) grade and are saved like fresh ones: the
cache's key holds everything that decides a run. The fresh run still goes on and replaces
them on screen. The app does the running and the writing
(threads, processes); this module only says what should happen next.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import reduce
from typing import TYPE_CHECKING, Literal

from gradquiz.display import one_line, plural
from gradquiz.format.model import MAIN
from gradquiz.format.params import draw_count, drawn, new_draw
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.browse import Facts
    from gradquiz.format.model import Question
    from gradquiz.grading import Response, Verdict
    from gradquiz.lab.cache import Kept
    from gradquiz.lab.protocol import VariantResult
    from gradquiz.progress.drill import Review

State = Literal["new", "right", "wrong"]

# Graded from the answer key; their runs are only shown (and name the torch the answer saw).
KEYED = frozenset({"single", "multiple", "truefalse"})


class Stage(Enum):
    WAITING = "waiting for its runs"
    GRADED = "graded, not saved yet"
    SAVED = "saved"


@dataclass(eq=False)
class Answered:
    """One submitted answer. Compared by identity: the same response twice is two answers."""

    question: Question
    response: Response
    at: datetime
    seconds: float = 0.0
    hints: int = 0
    verdict: Verdict | None = None
    # The torch version that ran the runs the answer was graded with (None: nothing ran).
    torch: str | None = None
    # The runs it waited for came back (or it waits for none).
    ran: bool = False
    saved: bool = False
    # Why the last attempt to save it failed; None once saved or before any attempt failed.
    not_saved: str | None = None
    # Once saved: what undoing it in the store takes.
    review: Review | None = None
    # The question's state and next review before this answer: an undo puts them back.
    state_before: State = "new"
    due_before: datetime | None = None
    leech_before: bool = False

    @property
    def stage(self) -> Stage:
        if self.verdict is None:
            return Stage.WAITING
        return Stage.SAVED if self.saved else Stage.GRADED


@dataclass
class Runs:
    """One question's runs: results by variant, the arrangement "yours" ran, batches still out,
    and which results are kept ones: shown while their fresh run has not come back, or after it
    did not finish (`stood`)."""

    results: dict[str, VariantResult] = field(default_factory=dict)
    arrangement: tuple[str, ...] | None = None
    out: int = 0
    kept: dict[str, Kept] = field(default_factory=dict)
    stood: set[str] = field(default_factory=set)
    # Counts the re-runs asked for: a batch started before the last one comes back stale.
    asked: int = 0


def needs_runs(question: Question) -> bool:
    """Whether grading waits for the experiment: numbers and arrangements are only known by
    running them; choices are graded by their key."""
    return question.type not in KEYED


def runs_ready(answered: Answered, runs: Runs | None, can_run: bool) -> bool:
    """The runs `answered` waits for have all come back (for a keyed question: any that were
    asked for, so the saved answer names the torch that ran them)."""
    if not can_run:
        return not needs_runs(answered.question)
    # A batch still out may replace results that are here, unless they are kept ones: the
    # fresh run of the very same request, or none at all (one whose fresh run did not finish).
    # Runs of an arrangement are told apart by the arrangement below.
    if runs is None or (runs.out and not runs.kept):
        return False
    if answered.question.type == "numeric":
        return MAIN in runs.results
    if answered.question.type == "order":
        return runs.arrangement == answered.response
    return bool(runs.results)


@dataclass
class Drill:
    questions: list[Question]
    # The drill's own answers, by question: what its summary counts.
    answered: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class DrillOver:
    """A drill's summary: how many were answered and right, which to look at again, and when
    the first of its questions comes back."""

    answered: int
    questions: int
    right: int = 0
    to_review: tuple[Question, ...] = ()
    next_due: datetime | None = None
    # Its questions that became leeches: out of drills until a closer look.
    leeches: tuple[Question, ...] = ()

    def __str__(self) -> str:
        return plural(
            self.questions,
            "Drill over: {answered} of its {n} question answered.",
            "Drill over: {answered} of its {n} questions answered.",
            answered=self.answered,
        )

    def summary(self, now: datetime, language: str | None = None) -> str:
        """`Drill over: 3 of its 4 questions answered, 2 right. Review: … Next due in 2 days.`"""
        head = str(self)
        if self.answered:
            head = plural(
                self.questions,
                "Drill over: {answered} of its {n} question answered, {right} right.",
                "Drill over: {answered} of its {n} questions answered, {right} right.",
                answered=self.answered,
                right=self.right,
            )
        lines = [head]
        if self.to_review:
            titles = ", ".join(f"“{one_line(q.title.get(language))}”" for q in self.to_review)
            lines.append(_("Review: {titles}.").format(titles=titles))
        if self.leeches:
            titles = ", ".join(f"“{one_line(q.title.get(language))}”" for q in self.leeches)
            lines.append(
                _("Leeches, out of drills until a closer look (l, state leech): {titles}.").format(
                    titles=titles
                )
            )
        if self.next_due is not None:
            lines.append(_("Next due {when}.").format(when=review_in(self.next_due - now)))
        # TRANSLATORS: two sentences of a drill's summary, one after the other.
        return reduce(lambda text, line: _("{text} {line}").format(text=text, line=line), lines)


class Quiz:
    """The learner's run through the questions: where they are, what they answered, what ran."""

    def __init__(
        self,
        bank: Sequence[Question],
        can_run: Callable[[Question], bool],
        *,
        start: str | None = None,
        drill: Sequence[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.bank = list(bank)
        # Draws each attempt's parameters and choice order; seeded in tests.
        self.rng = rng or random.Random()
        # The attempt open for each question: the question as drawn for it. A review tests
        # understanding only if it is not the same numbers and letters as last time.
        self.attempts: dict[str, Question] = {}
        self.can_run = can_run
        self.drill: Drill | None = None
        self.position = 0
        # The attempt shown for each question; a drill starts its questions afresh.
        self.answers: dict[str, Answered] = {}
        # Every answer not yet written, in the order given, whatever attempt is shown.
        self.unsaved: list[Answered] = []
        # Every answer given in this session, in order: `ctrl+z` takes back the last.
        self.given: list[Answered] = []
        # Answers handed out by `to_save` and not yet reported back.
        self.saving: set[Answered] = set()
        self.runs: dict[str, Runs] = {}
        # The torch the lab's workers run, once one has said.
        self.torch: str | None = None
        # From earlier runs of gradquiz: each question's last result and its next review.
        self.saved: dict[str, State] = {}
        self.due: dict[str, datetime] = {}
        # Questions missed too often to drill (`progress.leech`), as the store last said.
        self.leeches: set[str] = set()
        # The learner asked for a place (--question, a jump, a key): do not move them.
        self.moved = start is not None
        if drill:
            by_id = {q.id: q for q in self.bank}
            self.drill = Drill([by_id[i] for i in drill if i in by_id])
        if start is not None:
            self.go_to(start)

    # The walk.

    @property
    def walk(self) -> list[Question]:
        """The questions `next` and `previous` go through: a drill's, or the whole bank."""
        return self.drill.questions if self.drill is not None else self.bank

    @property
    def question(self) -> Question | None:
        """The question on screen, as drawn for its open attempt."""
        walk = self.walk
        return self.attempt(walk[self.position]) if walk else None

    def upcoming(self) -> Question | None:
        """The question `next` would show, as drawn for its attempt (None past a drill's end)."""
        walk = self.walk
        target = self.position + 1
        if not walk or (self.drill is not None and target >= len(walk)):
            return None
        return self.attempt(walk[target % len(walk)])

    def attempt(self, question: Question) -> Question:
        """`question` as its open attempt shows it, drawing one when none is open."""
        shown = self.attempts.get(question.id)
        if shown is None:
            shown = drawn(question, new_draw(question, self.rng))
            self.attempts[question.id] = shown
        return shown

    def attempt_by_id(self, question_id: str) -> Question | None:
        question = next((q for q in self.bank if q.id == question_id), None)
        return None if question is None else self.attempt(question)

    def _close_attempt(self, question_id: str) -> None:
        """The next showing draws afresh. Runs of drawn values go with their draw, unless they
        are still out or an answer waits for them: that answer is graded against its draw."""
        shown = self.attempts.get(question_id)
        if shown is None:
            return
        if draw_count(shown) == 1:
            # Only the choices' order changes, and the runs are by choice id: they still hold.
            del self.attempts[question_id]
            return
        if self.running(question_id) or any(
            a.question.id == question_id and not a.ran for a in self.unsaved
        ):
            return
        del self.attempts[question_id]
        self.runs.pop(question_id, None)

    def bank_position(self, question: Question) -> int | None:
        return next((n for n, q in enumerate(self.bank) if q.id == question.id), None)

    def move(self, delta: int) -> DrillOver | None:
        """Next or previous; past either end of a drill, the drill is over."""
        target = self.position + delta
        drill = self.drill
        self.moved = True
        if drill is not None and not 0 <= target < len(drill.questions):
            return self.end_drill()
        walk = self.walk
        self.position = target % len(walk) if walk else 0
        return None

    def go_to(self, question_id: str) -> bool:
        """Show the question; one outside the drill ends the drill. False if there is none."""
        self.moved = True
        if self.drill is not None and all(q.id != question_id for q in self.drill.questions):
            self.end_drill()
        ids = [q.id for q in self.walk]
        if question_id not in ids:
            return False
        self.position = ids.index(question_id)
        return True

    def where(self, question: Question, *, complete: bool = True) -> str:
        """Where `question` sits: in the drill and in the bank (whose size is not known until
        every file is read, just after the first paint)."""
        index = self.bank_position(question)
        total = str(len(self.bank)) if complete else "…"
        bank = f"{index + 1}/{total}" if index is not None else f"?/{total}"
        drill = self.drill
        ids = [q.id for q in drill.questions] if drill is not None else []
        if question.id in ids:
            return _("drill {index}/{count} · {bank}").format(
                index=ids.index(question.id) + 1, count=len(ids), bank=bank
            )
        return bank

    def bank_grew(self, bank: Sequence[Question]) -> None:
        """Every file is read now; the questions read first come first, so positions hold."""
        self.bank = list(bank)

    def left_off(self, now: datetime) -> Question | None:
        """Where the learner left off: the first question due for review, else the first never
        answered; None when every question rests until later."""
        # Answered ones only: a question skipped for today has a card, due, but rests.
        due = [q for q in self.bank if q.id in self.saved and q.id in self.due]
        due = [q for q in due if self.due[q.id] <= now]
        if due:
            return min(due, key=lambda q: self.due[q.id])
        return next((q for q in self.bank if q.id not in self.saved), None)

    def stay(self) -> None:
        """The learner is at work on the question shown: going where they left off would move
        it from under their keys, so `reopen` leaves them here."""
        self.moved = True

    def reopen(self, now: datetime) -> bool:
        """Move to where the learner left off, unless they already went somewhere themselves."""
        if self.moved or self.drill is not None or self.answers:
            return False
        target = self.left_off(now)
        if target is None or (self.question is not None and target.id == self.question.id):
            return False
        ids = [q.id for q in self.walk]
        self.position = ids.index(target.id)
        return True

    # Drills.

    def start_drill(self, queue: Sequence[Question]) -> None:
        """Serve `queue` from its first question, each one fresh: an earlier answer given in this
        session stays in the history (and is still saved) but is not the drill's."""
        self.drill = Drill(list(queue))
        for question in queue:
            self.answers.pop(question.id, None)
            self._close_attempt(question.id)
        self.position = 0
        self.moved = True

    def end_drill(self) -> DrillOver | None:
        """Back to the whole bank, at the question on screen."""
        drill = self.drill
        if drill is None:
            return None
        current = self.question
        self.drill = None
        position = self.bank_position(current) if current is not None else None
        self.position = position or 0
        mine = [self.answers[i] for i in drill.answered if i in self.answers]
        graded = [a for a in mine if a.verdict is not None]
        dues = [self.due[q.id] for q in drill.questions if q.id in self.due]
        return DrillOver(
            len(drill.answered),
            len(drill.questions),
            right=sum(a.verdict is not None and a.verdict.correct for a in graded),
            to_review=tuple(
                a.question for a in graded if a.verdict is not None and not a.verdict.correct
            ),
            next_due=min(dues, default=None),
            leeches=tuple(q for q in drill.questions if q.id in self.leeches),
        )

    def drop_from_drill(self, question: Question) -> DrillOver | None:
        """A question skipped for today leaves the drill; the drill ends with its last one."""
        drill = self.drill
        if drill is None:
            return None
        if len(drill.questions) == 1:
            over = self.end_drill()
            self.move(1)
            return over
        drill.questions = [q for q in drill.questions if q.id != question.id]
        self.position = min(self.position, len(drill.questions) - 1)
        return None

    # Answers.

    def answered(self, question: Question) -> Answered | None:
        return self.answers.get(question.id)

    def state(self, question_id: str) -> State:
        answered = self.answers.get(question_id)
        if answered is None or answered.verdict is None:
            return self.saved.get(question_id, "new")
        return "right" if answered.verdict.correct else "wrong"

    def submit(
        self, question: Question, response: Response, at: datetime, seconds: float, hints: int
    ) -> Answered | None:
        """Take the learner's answer and grade it if its runs are here. None if the question was
        answered already in this attempt."""
        if question.id in self.answers:
            return None
        answered = Answered(
            question,
            response,
            at,
            seconds=seconds,
            hints=hints,
            state_before=self.saved.get(question.id, "new"),
            due_before=self.due.get(question.id),
            leech_before=question.id in self.leeches,
        )
        self.answers[question.id] = answered
        self.unsaved.append(answered)
        self.given.append(answered)
        if self.drill is not None and any(q.id == question.id for q in self.drill.questions):
            self.drill.answered.add(question.id)
        self._grade(answered)
        return answered

    def _grade(self, answered: Answered) -> None:
        question = answered.question
        runs = self.runs.get(question.id)
        if not answered.ran and runs_ready(answered, runs, self.can_run(question)):
            answered.ran = True
            answered.torch = self.torch if runs is not None else None
            if answered.verdict is None:
                answered.verdict = _grade(question, answered.response, self.results(question.id))
        if answered.verdict is None and not needs_runs(question):
            answered.verdict = _grade(question, answered.response, {})

    def reset(self, question_ids: Sequence[str] | None = None) -> None:
        """Forget answers (all when `question_ids` is None): saved history is gone too."""
        if question_ids is None:
            question_ids = list({*self.attempts, *self.answers})
            self.saved.clear()
            self.due.clear()
            self.leeches.clear()
        for question_id in question_ids:
            self.answers.pop(question_id, None)
            self._close_attempt(question_id)
            self.saved.pop(question_id, None)
            self.due.pop(question_id, None)
            self.leeches.discard(question_id)

    def facts(self, question_id: str) -> Facts:
        """What the learner did with the question, for the question list to show and filter."""
        from gradquiz.browse import Facts

        return Facts(
            self.state(question_id), self.due.get(question_id), question_id in self.leeches
        )

    # Leeches.

    def is_leech(self, question_id: str) -> bool:
        return question_id in self.leeches

    def closer_look(self, question_id: str) -> bool:
        """A fresh attempt at a leech, shown: the screen shows it with every hint and the
        playground offered. False (and nothing changes) for a question that is no leech."""
        if question_id not in self.leeches:
            return False
        answered = self.answers.get(question_id)
        if answered is not None and answered.stage is not Stage.WAITING:
            del self.answers[question_id]
            self._close_attempt(question_id)
        return self.go_to(question_id)

    def leech_note(self, question_id: str, *, playground: bool) -> str | None:
        """What the verdict adds when the answer made the question a leech, or cleared it;
        the playground is offered only where it can be opened."""
        # Here, not at the top: the progress package (SQLite, FSRS) waits until after the
        # first paint, and a note is only asked for once an answer is saved.
        from gradquiz.progress.leech import LEECH_MISSES

        answered = self.answers.get(question_id)
        if answered is None or answered.review is None:
            return None
        if answered.review.cleared:
            return _("Leech cleared: it is back in your drills.")
        if answered.review.leech and not answered.leech_before:
            if not playground:
                return _(
                    "Missed {misses} times: a leech now, so it leaves your drills. Press k for "
                    "a closer look (every hint); a right answer brings it back."
                ).format(misses=LEECH_MISSES)
            return _(
                "Missed {misses} times: a leech now, so it leaves your drills. Press k for a "
                "closer look (every hint, o for the playground); a right answer brings it back."
            ).format(misses=LEECH_MISSES)
        return None

    # Runs.

    def wants_runs(self, question: Question, *, again: bool = False) -> bool:
        """Whether the question's runs should start: not when they are here or on their way."""
        if not self.can_run(question):
            return False
        runs = self.runs.get(question.id)
        if again or runs is None:
            return True
        return not runs.results and not runs.out

    def runs_started(self, question_id: str, *, again: bool = False) -> int:
        """A batch is out; `again`: a re-run, whose results alone count from now on. Returns
        the batch's round, to hand back with what it brings (`kept_arrived`, `runs_arrived`)."""
        runs = self.runs.setdefault(question_id, Runs())
        if again:
            runs.results = {}
            runs.arrangement = None
            runs.kept = {}
            runs.stood = set()
            runs.asked += 1
        runs.out += 1
        return runs.asked

    def round(self, question_id: str) -> int:
        """How many re-runs of the question were asked for (see `runs_started`)."""
        runs = self.runs.get(question_id)
        return runs.asked if runs is not None else 0

    def running(self, question_id: str) -> bool:
        runs = self.runs.get(question_id)
        return runs is not None and runs.out > 0

    def results(self, question_id: str) -> dict[str, VariantResult]:
        runs = self.runs.get(question_id)
        return runs.results if runs is not None else {}

    def kept(self, question_id: str) -> Kept | None:
        """The oldest of the kept results on show for the question, while their fresh runs are
        out or after those did not finish (None when every result shown is fresh)."""
        runs = self.runs.get(question_id)
        if runs is None or not runs.kept:
            return None
        return min(runs.kept.values(), key=lambda kept: kept.saved)

    def kept_stood(self, question_id: str) -> bool:
        """Whether every kept result on show stays because its fresh run did not finish."""
        runs = self.runs.get(question_id)
        return runs is not None and bool(runs.kept) and set(runs.kept) <= runs.stood

    def kept_arrived(
        self,
        question_id: str,
        kept: Sequence[Kept],
        arrangement: tuple[str, ...] | None,
        *,
        round_: int | None = None,
    ) -> list[Answered]:
        """Kept results of a batch whose fresh run is still out: shown and graded with at once.
        Returns the answers now ready to save. `round_`: the batch's (see `runs_started`)."""
        runs = self.runs.setdefault(question_id, Runs())
        if round_ is not None and round_ != runs.asked:
            return []  # a re-run asked for since wants no kept result
        for found in kept:
            variant = found.result.variant
            if variant in runs.results and variant not in runs.kept:
                continue  # a fresh result is here already: it stands
            runs.results[variant] = found.result
            runs.kept[variant] = found
            runs.stood.discard(variant)
        self.torch = self.torch or (kept[0].torch_release if kept else None)
        if arrangement is not None:
            runs.arrangement = arrangement
        return self._grade_waiting(question_id)

    def runs_arrived(
        self,
        question_id: str,
        results: Sequence[VariantResult],
        arrangement: tuple[str, ...] | None,
        torch: str | None,
        *,
        stood: Sequence[Kept] = (),
        round_: int | None = None,
    ) -> list[Answered]:
        """Merge a batch of runs; grade every answer that waited for them. Returns those now
        ready to save (graded, runs back). `stood`: kept results among `results`, on show still
        because their fresh runs did not finish. `round_`: the batch's (see `runs_started`)."""
        runs = self.runs.setdefault(question_id, Runs())
        runs.out = max(0, runs.out - 1)
        if round_ is not None and round_ != runs.asked:
            return []  # started before a re-run asked for since: only the re-run counts
        self.torch = torch or self.torch
        for result in results:
            runs.results[result.variant] = result
            runs.kept.pop(result.variant, None)
            runs.stood.discard(result.variant)
        for found in stood:
            runs.kept[found.result.variant] = found
            runs.stood.add(found.result.variant)
        if arrangement is not None:
            runs.arrangement = arrangement
        return self._grade_waiting(question_id)

    def _grade_waiting(self, question_id: str) -> list[Answered]:
        ready: list[Answered] = []
        for answered in self.unsaved:
            if answered.question.id == question_id and not answered.ran:
                self._grade(answered)
                if answered.ran and answered.verdict is not None:
                    ready.append(answered)
        return ready

    # Saving.

    def to_save(self, *, leaving: bool = False) -> list[Answered]:
        """Graded answers whose runs are back, not saved and not being saved; on `leaving`, every
        graded one, whether or not its runs came back."""
        batch = [
            a
            for a in self.unsaved
            if a.verdict is not None and a not in self.saving and (a.ran or leaving)
        ]
        self.saving.update(batch)
        return batch

    def save_done(
        self, answered: Answered, problem: str | None, review: Review | None = None
    ) -> bool:
        """What came of writing `answered`: None if it was saved, else why not. True when the
        learner should hear about it: the first failure, or a save after failures."""
        self.saving.discard(answered)
        before = answered.not_saved
        if problem is None:
            answered.saved = True
            answered.review = review
            answered.not_saved = None
            self.unsaved.remove(answered)
            if answered.verdict is not None:
                self.saved[answered.question.id] = "right" if answered.verdict.correct else "wrong"
            if review is not None:
                if review.leech:
                    self.leeches.add(answered.question.id)
                else:
                    self.leeches.discard(answered.question.id)
            return before is not None
        answered.not_saved = problem
        return before is None

    # Undo.

    def to_undo(self) -> Answered | str:
        """The answer `ctrl+z` takes back (the last given in this session), or why none can be:
        one being written waits for its write to end, so the store is never left half undone."""
        if not self.given:
            return _("Nothing to undo in this session.")
        last = self.given[-1]
        if last in self.saving:
            return _("That answer is being saved; undo again in a moment.")
        if last.saved and last.review is None:
            return _("That answer was saved at exit and can no longer be undone.")
        return last

    def undo(self, answered: Answered) -> None:
        """Forget `answered` as if it had never been given (its store row is gone already when
        it was saved): its question is open to be answered again, with the same draw, and is
        shown."""
        self.given.remove(answered)
        if answered in self.unsaved:
            self.unsaved.remove(answered)
        question_id = answered.question.id
        if self.answers.get(question_id) is answered:
            del self.answers[question_id]
        if answered.saved:
            if answered.state_before == "new":
                self.saved.pop(question_id, None)
            else:
                self.saved[question_id] = answered.state_before
            if answered.due_before is None:
                self.due.pop(question_id, None)
            else:
                self.due[question_id] = answered.due_before
            if answered.leech_before:
                self.leeches.add(question_id)
            else:
                self.leeches.discard(question_id)
        drill = self.drill
        if drill is not None:
            drill.answered.discard(question_id)
        if drill is not None and all(q.id != question_id for q in drill.questions):
            self.end_drill()
        self.go_to(question_id)

    def next_review(self, question_id: str, now: datetime) -> str | None:
        """When the answer on screen brings its question back (`in 3 days`), once it is saved
        and the schedule says."""
        answered = self.answers.get(question_id)
        due = self.due.get(question_id)
        if answered is None or not answered.saved or due is None:
            return None
        return review_in(due - now)

    def waiting(self) -> list[Answered]:
        """Answers still waiting for their runs (some for a pack not trusted yet)."""
        return [a for a in self.unsaved if a.stage is Stage.WAITING]

    def failing(self) -> list[Answered]:
        return [a for a in self.unsaved if a.not_saved is not None]


def review_in(wait: timedelta) -> str:
    """`in 10 minutes`, `in 5 hours`, `tomorrow`, `in 3 days`: rounded to the unit that
    matters at that distance."""
    minutes = wait.total_seconds() / 60
    if minutes < 1:
        return _("in under a minute")
    if minutes < 60:
        return plural(round(minutes), "in {n} minute", "in {n} minutes")
    if minutes < 23.5 * 60:
        return plural(round(minutes / 60), "in {n} hour", "in {n} hours")
    days = round(minutes / (24 * 60))
    return _("tomorrow") if days == 1 else plural(days, "in {n} day", "in {n} days")


def _grade(question: Question, response: Response, results: dict[str, VariantResult]) -> Verdict:
    # Imported on the first answer, not with the first screen.
    from gradquiz.grading import grade

    return grade(question, response, results)
