"""Numbers about a learner's progress; the whole history as CSV or JSON. No textual, no torch."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from gradquiz.format.model import Question
from gradquiz.i18n import N_
from gradquiz.progress.drill import Progress, local_day
from gradquiz.progress.history import answer_days, history
from gradquiz.progress.store import Answer, stamp

MOST_MISSED = 5
STREAK_PREF = "streak"


def _share(right: int, total: int) -> float | None:
    return round(right / total, 4) if total else None


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# "The next 7 days": today and the six after it.
WEEK = 7
# Marked for the catalogue: the table headers are translated where they are shown.
TOPIC_COLUMNS = (N_("topic"), N_("questions"), N_("answered"), N_("correct"), N_("accuracy"))


def topic_rows(document: dict[str, Any]) -> list[tuple[str, ...]]:
    """The by-topic numbers as table cells, in TOPIC_COLUMNS order."""
    return [
        (
            topic,
            str(entry["questions"]),
            str(entry["answered"]),
            str(entry["correct"]),
            percent(entry["accuracy"]),
        )
        for topic, entry in document["by_topic"].items()
    ]


def streak_days(days: set[date], today: date) -> int:
    """Days in a row with an answer, up to today (or yesterday: today is not over yet)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def streak_enabled(progress: Progress) -> bool:
    return progress.store.pref(STREAK_PREF) == "on"


def stats(progress: Progress, questions: Sequence[Question], now: datetime) -> dict[str, Any]:
    past = history(progress.store)
    titles = {q.id: q.title.get() for q in questions}
    by_topic: dict[str, dict[str, Any]] = {}
    for q in questions:
        by_topic.setdefault(q.topic, {"questions": 0, "answered": 0, "correct": 0})
        by_topic[q.topic]["questions"] += 1
    for topic, (answered, right) in sorted(past.by_topic.items()):
        entry = by_topic.setdefault(topic, {"questions": 0, "answered": 0, "correct": 0})
        entry["answered"] += answered
        entry["correct"] += right
    for entry in by_topic.values():
        entry["accuracy"] = _share(entry["correct"], entry["answered"])

    stuck = progress.leeches(past)
    # What a drill would serve: a leech waits for a closer look, not for its due date.
    due_now = len(progress.due([q for q in questions if q.id not in stuck], now, past))
    today = local_day(now)
    upcoming: Counter[date] = Counter()
    known = {q.id for q in questions}
    for card in progress.store.cards().values():
        day = local_day(card.due)
        if card.question in known and card.due > now and day < today + timedelta(days=WEEK):
            upcoming[day] += 1
    missed = {q: seen for q, seen in past.by_question.items() if seen.wrong}
    answered, correct = past.answered, past.correct
    document: dict[str, Any] = {
        "answered": answered,
        "correct": correct,
        "accuracy": _share(correct, answered),
        "questions": len(questions),
        "seen": len(set(past.by_question) & known),
        "due_now": due_now,
        "new_today": len(progress.new_today(questions, now, past)),
        "due_next_7_days": [
            {"date": (today + timedelta(days=n)).isoformat(), "due": upcoming[today + timedelta(n)]}
            for n in range(WEEK)
        ],
        "by_topic": by_topic,
        "most_missed": [
            {
                "id": qid,
                "title": titles.get(qid, qid),
                "wrong": seen.wrong,
                "answered": seen.answered,
                "leech": qid in stuck,
            }
            for qid, seen in sorted(missed.items(), key=lambda item: (-item[1].wrong, item[0]))[
                :MOST_MISSED
            ]
        ],
        "leeches": [
            {"id": q.id, "title": titles[q.id], "wrong": past.by_question[q.id].wrong}
            for q in questions
            if q.id in stuck
        ],
        "saving": progress.store.saving,
    }
    if streak_enabled(progress):
        document["streak"] = streak_days(answer_days(progress.store), today)
    return document


EXPORT_COLUMNS = (
    "question",
    "topic",
    "answered_at",
    "response",
    "correct",
    "seconds",
    "torch",
    "rating",
    "content_hash",
)


def _row(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "topic": answer.topic,
        "answered_at": stamp(answer.answered_at),
        "response": json.loads(answer.response),
        "correct": answer.correct,
        "seconds": answer.seconds,
        "torch": answer.torch,
        "rating": answer.rating,
        "content_hash": answer.content_hash,
    }


def export(answers: Sequence[Answer], fmt: str) -> str:
    """Every answer ever given, oldest first, as `csv` or `json`."""
    rows = [_row(a) for a in answers]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "response": json.dumps(row["response"], ensure_ascii=False)})
    return out.getvalue()
