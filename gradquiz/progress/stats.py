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
    answers = progress.store.answers()
    titles = {q.id: q.title.get() for q in questions}
    by_topic: dict[str, dict[str, Any]] = {}
    for q in questions:
        by_topic.setdefault(q.topic, {"questions": 0, "answered": 0, "correct": 0})
        by_topic[q.topic]["questions"] += 1
    for a in answers:
        entry = by_topic.setdefault(a.topic, {"questions": 0, "answered": 0, "correct": 0})
        entry["answered"] += 1
        entry["correct"] += int(a.correct)
    for entry in by_topic.values():
        entry["accuracy"] = _share(entry["correct"], entry["answered"])

    due_now = len(progress.due(questions, now))
    today = local_day(now)
    upcoming: Counter[date] = Counter()
    known = {q.id for q in questions}
    for card in progress.store.cards().values():
        day = local_day(card.due)
        if card.question in known and card.due > now and day < today + timedelta(days=WEEK):
            upcoming[day] += 1
    wrong = Counter(a.question for a in answers if not a.correct)
    total = Counter(a.question for a in answers)
    correct = sum(1 for a in answers if a.correct)
    document: dict[str, Any] = {
        "answered": len(answers),
        "correct": correct,
        "accuracy": _share(correct, len(answers)),
        "questions": len(questions),
        "seen": len({a.question for a in answers} & known),
        "due_now": due_now,
        "new_today": len(progress.new_today(questions, now)),
        "due_next_7_days": [
            {"date": (today + timedelta(days=n)).isoformat(), "due": upcoming[today + timedelta(n)]}
            for n in range(WEEK)
        ],
        "by_topic": by_topic,
        "most_missed": [
            {"id": qid, "title": titles.get(qid, qid), "wrong": n, "answered": total[qid]}
            for qid, n in sorted(wrong.items(), key=lambda item: (-item[1], item[0]))[:MOST_MISSED]
        ],
        "saving": progress.store.saving,
    }
    if streak_enabled(progress):
        document["streak"] = streak_days({local_day(a.answered_at) for a in answers}, today)
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
