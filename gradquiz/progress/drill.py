"""Spaced repetition: what an answer is worth to FSRS, and which questions to serve next.

No textual, no torch. Every function takes `now`, so schedules can be tested at any moment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from fsrs import Card, Rating, Scheduler

from gradquiz.format.model import Question
from gradquiz.progress.history import History, history
from gradquiz.progress.leech import is_leech, leeches
from gradquiz.progress.store import Answer, CardRow, Store
from gradquiz.settings import NEW_PER_DAY

# A right answer given this fast, without hints, counts as Easy: the learner knew it outright.
EASY_SECONDS = 20.0

State = Literal["new", "right", "wrong"]

# Where a question sits is not its content: moving it (within its file, to another file, or
# from a checkout to an installed wheel) keeps its history intact; a code snippet's `origin`
# is such a place too. Nor is one attempt's draw, nor whether its choices are shuffled, nor
# which tensor's graph the lab draws: none changes what is asked or how it is graded.
_NOT_CONTENT = frozenset(
    {"location", "field_locations", "origin", "pack", "draw", "template", "shuffle", "graph"}
)
# Fields added since format v1: left out at their defaults, so a v1 question keeps its digest
# (and its learner's schedule) under a gradquiz that knows them.
_SINCE_V1 = {"blanks": (), "params": ()}


# Each dataclass's content fields, looked up once: a drill hashes every question it serves.
_CONTENT_FIELDS: dict[type, tuple[str, ...]] = {}


def _content_fields(kind: type) -> tuple[str, ...] | None:
    names = _CONTENT_FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in dataclasses.fields(kind) if f.name not in _NOT_CONTENT)
        _CONTENT_FIELDS[kind] = names
    return names


_LEAVES = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    names = _content_fields(kind)
    if names is not None:
        plain = {}
        for name in names:
            item = getattr(value, name)
            if name not in _SINCE_V1 or item != _SINCE_V1[name]:
                plain[name] = _plain(item)
        return plain
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def content_hash(question: Question) -> str:
    """A digest of what the question asks and runs: an edit to any of it changes the digest."""
    text = json.dumps(_plain(question.original), sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rating_for(correct: bool, seconds: float, hints: int) -> Rating:
    if not correct:
        return Rating.Again
    return Rating.Easy if hints == 0 and seconds <= EASY_SECONDS else Rating.Good


def local_day(moment: datetime) -> Any:
    """The learner's calendar day (daily limits and streaks follow the wall clock they see)."""
    return moment.astimezone().date()


@dataclass(frozen=True)
class Review:
    """An answer as written, its row, and its question's card before it: enough to undo it."""

    answer: Answer
    answer_id: int
    card_before: CardRow | None
    # Whether the question is a leech after this answer, and whether this answer cleared it
    # (then `cleared_before` is what the store held before: what an undo puts back).
    leech: bool = False
    cleared: bool = False
    cleared_before: int | None = None


@dataclass
class Progress:
    """A learner's progress: the store, and the scheduler that reads and writes its cards."""

    store: Store
    scheduler: Scheduler = dataclasses.field(default_factory=Scheduler)
    new_per_day: int = NEW_PER_DAY

    def record(
        self,
        question: Question,
        *,
        response: Any,
        correct: bool,
        seconds: float,
        torch: str | None,
        now: datetime,
        hints: int = 0,
    ) -> Answer:
        """Save one answer and reschedule its question, in one transaction."""
        return self.review(
            question,
            response=response,
            correct=correct,
            seconds=seconds,
            torch=torch,
            now=now,
            hints=hints,
        ).answer

    def review(
        self,
        question: Question,
        *,
        response: Any,
        correct: bool,
        seconds: float,
        torch: str | None,
        now: datetime,
        hints: int = 0,
    ) -> Review:
        """Save one answer and reschedule its question, in one transaction; what `undo` needs
        to take it back."""
        rating = rating_for(correct, seconds, hints)
        digest = content_hash(question)
        answer = Answer(
            question=question.id,
            content_hash=digest,
            topic=question.topic,
            answered_at=now,
            response=json.dumps(response, ensure_ascii=False),
            correct=correct,
            seconds=round(seconds, 3),
            torch=torch,
            rating=int(rating),
            draw=None if question.draw is None else json.dumps(question.draw.to_json()),
        )
        with self.store.transaction() as tx:
            row = tx.card(question.id)
            card = Card() if row is None else Card.from_json(row.card)
            card, _ = self.scheduler.review_card(card, rating, now, int(seconds * 1000))
            answer_id = tx.add_answer(answer)
            tx.put_card(CardRow(question.id, digest, card.to_json(), card.due))
            misses, cleared_before = tx.misses(question.id), tx.cleared_at(question.id)
            cleared = correct and is_leech(misses, cleared_before)
            if cleared:
                tx.set_cleared_at(question.id, misses)
        leech = not cleared and is_leech(misses, cleared_before)
        return Review(answer, answer_id, row, leech, cleared, cleared_before)

    def undo(self, review: Review) -> bool:
        """Take back a review, as Anki's undo does: the answer leaves the history and the card
        is as it was before it (none for a question answered for the first time). False when
        the answer is gone already, and then nothing changes."""
        with self.store.transaction() as tx:
            if not tx.remove_answer(review.answer_id):
                return False
            if review.card_before is None:
                tx.remove_card(review.answer.question)
            else:
                tx.put_card(review.card_before)
            if review.cleared:
                tx.set_cleared_at(review.answer.question, review.cleared_before)
        return True

    def skip(self, question: Question, now: datetime) -> None:
        """Leave the question for today: a drill skips it until tomorrow, with no review logged."""
        tomorrow = datetime.combine(
            local_day(now) + timedelta(days=1), datetime.min.time()
        ).astimezone()
        if not self.store.bury(question.id, tomorrow):
            with self.store.transaction() as tx:
                card = Card()
                tx.put_card(
                    CardRow(question.id, content_hash(question), card.to_json(), now, tomorrow)
                )

    def states(self) -> dict[str, State]:
        """Each answered question's last result."""
        return {
            question: "right" if seen.last_correct else "wrong"
            for question, seen in history(self.store).by_question.items()
        }

    def leeches(self, past: History | None = None) -> set[str]:
        """The questions missed too often to drill (`progress.leech`)."""
        misses = {q: seen.wrong for q, seen in (past or history(self.store)).by_question.items()}
        return leeches(misses, self.store.cleared())

    def _resting(self, cards: dict[str, CardRow], question: str, now: datetime) -> bool:
        card = cards.get(question)
        return card is not None and card.buried_until is not None and card.buried_until > now

    def due(
        self, questions: Sequence[Question], now: datetime, past: History | None = None
    ) -> list[Question]:
        """Answered questions whose review is due, or whose content changed since; oldest first.

        `past`: the history, when the caller has just read it."""
        cards = self.store.cards()
        seen = (past or history(self.store)).by_question
        due: list[tuple[datetime, int, Question]] = []
        for index, q in enumerate(questions):
            card = cards.get(q.id)
            if card is None or q.id not in seen or self._resting(cards, q.id, now):
                continue
            if card.content_hash != content_hash(q):
                # Changed since it was last answered: what it asks now has never been seen.
                due.append((now, index, q))
            elif card.due <= now:
                due.append((card.due, index, q))
        due.sort(key=lambda item: (item[0], item[1]))
        return [q for _, _, q in due]

    def new_today(
        self, questions: Sequence[Question], now: datetime, past: History | None = None
    ) -> list[Question]:
        """Never-answered questions, in pack order, up to what is left of today's limit."""
        cards = self.store.cards()
        first_seen = {
            q: seen.first for q, seen in (past or history(self.store)).by_question.items()
        }
        today = local_day(now)
        started = sum(1 for moment in first_seen.values() if local_day(moment) == today)
        room = max(0, self.new_per_day - started)
        fresh = [
            q for q in questions if q.id not in first_seen and not self._resting(cards, q.id, now)
        ]
        return fresh[:room]

    def mistakes(
        self, questions: Sequence[Question], now: datetime, past: History | None = None
    ) -> list[Question]:
        """Questions whose last answer was wrong."""
        cards = self.store.cards()
        last = {
            q: seen.last_correct for q, seen in (past or history(self.store)).by_question.items()
        }
        return [
            q for q in questions if last.get(q.id) is False and not self._resting(cards, q.id, now)
        ]

    def queue(
        self,
        questions: Sequence[Question],
        now: datetime,
        *,
        topic: str | None = None,
        limit: int | None = None,
        mistakes: bool = False,
        past: History | None = None,
    ) -> list[Question]:
        """What a drill serves now: due (or changed) questions first, then new ones up to the
        daily limit; with `mistakes`, only questions whose last answer was wrong. Never a
        leech: it waits for a closer look instead. `past`: the history, when the caller has
        just read it."""
        past = past or history(self.store)
        stuck = self.leeches(past)
        pool = [q for q in questions if (topic is None or q.topic == topic) and q.id not in stuck]
        if mistakes:
            served = self.mistakes(pool, now, past)
        else:
            served = self.due(pool, now, past) + self.new_today(pool, now, past)
        return served[:limit] if limit is not None else served
