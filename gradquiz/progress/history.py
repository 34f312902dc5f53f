"""Each question's history in a few numbers, added up by SQLite: no answer is read one by one.

Drills and stats need per question only how often it was answered and missed, when first,
and whether the last answer was right; SQLite aggregates those over the
`answers_by_question` index, so years of history cost what a few hundred rows do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gradquiz.progress.store import Store, parse_stamp

# Both read only the `answers_summary` and `answers_by_question` indexes. Grouped by the
# topic each answer was given under too: a question moved to another topic keeps its old
# answers there.
_TOTALS = """
SELECT question, topic, count(*), sum(correct), min(answered_at)
FROM answers GROUP BY question, topic
"""
_LAST = """
SELECT question,
    (SELECT correct FROM answers AS last WHERE last.question = q.question
     ORDER BY answered_at DESC, id DESC LIMIT 1)
FROM (SELECT DISTINCT question FROM answers) AS q
"""


@dataclass(frozen=True)
class QuestionHistory:
    answered: int
    correct: int
    first: datetime
    last_correct: bool

    @property
    def wrong(self) -> int:
        return self.answered - self.correct


@dataclass(frozen=True)
class History:
    by_question: dict[str, QuestionHistory]
    # (answered, correct) by the topic each answer was given under.
    by_topic: dict[str, tuple[int, int]]

    @property
    def answered(self) -> int:
        return sum(h.answered for h in self.by_question.values())

    @property
    def correct(self) -> int:
        return sum(h.correct for h in self.by_question.values())


def history(store: Store) -> History:
    last_right: dict[str, Any] = {row[0]: row[1] for row in store.query(_LAST)}
    # question -> [answered, correct, first answer's stamp, last answer right]
    totals: dict[str, list[Any]] = {}
    by_topic: dict[str, tuple[int, int]] = {}
    for question, topic, count, right, first in store.query(_TOTALS):
        entry = totals.setdefault(question, [0, 0, first, last_right[question]])
        entry[0] += int(count)
        entry[1] += int(right)
        # Stamps are UTC ISO text of one width: they sort in time order.
        entry[2] = min(entry[2], first)
        topic_answered, topic_correct = by_topic.get(topic, (0, 0))
        by_topic[topic] = (topic_answered + int(count), topic_correct + int(right))
    by_question = {
        question: QuestionHistory(answered, correct, parse_stamp(str(first)), bool(last))
        for question, (answered, correct, first, last) in totals.items()
    }
    return History(by_question, by_topic)


def answer_days(store: Store) -> set[date]:
    """The learner's calendar days with an answer: SQLite's 'localtime' is the same C
    library conversion Python's `astimezone()` makes."""
    rows = store.query("SELECT DISTINCT date(answered_at, 'localtime') FROM answers")
    return {date.fromisoformat(str(day)) for (day,) in rows}
