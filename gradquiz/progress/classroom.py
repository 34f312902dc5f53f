"""A class's progress: every learner's store under one directory, added up. No textual, no torch.

`gradquiz serve` keeps each learner in `DIR/<name>/progress.sqlite3`. Those files are read
here while learners may still be answering, so each is opened read-only (`mode=ro`): in WAL
mode a reader never blocks a writer, and nothing here can change a learner's file. A store in
a directory the instructor cannot write (no `-shm` can be made) is read as `immutable`, which
is safe because nobody without write access can be changing it either.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gradquiz.format.model import Question
from gradquiz.progress.store import BUSY_TIMEOUT_MS, FILE_NAME

MOST_MISSED = 5


@dataclass
class Tally:
    answered: int = 0
    correct: int = 0

    def add(self, correct: bool) -> None:
        self.answered += 1
        self.correct += int(correct)

    @property
    def wrong(self) -> int:
        return self.answered - self.correct

    @property
    def accuracy(self) -> float | None:
        return round(self.correct / self.answered, 4) if self.answered else None


@dataclass
class QuestionTally(Tally):
    topic: str = ""
    learners: set[str] = field(default_factory=set)
    # What wrong answers said, as the learner gave them (a choice id, a number, ...).
    wrong_picks: Counter[str] = field(default_factory=Counter)


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}"
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        # A WAL file in a directory we cannot write: no reader can take the shared memory.
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    db = _connect(path)
    try:
        yield db
    finally:
        db.close()


def learner_stores(directory: Path) -> list[tuple[str, Path]]:
    """(learner, store) for every learner directory holding a progress file, by name."""
    if not directory.is_dir():
        return []
    return sorted(
        (child.name, child / FILE_NAME)
        for child in directory.iterdir()
        if child.is_dir() and (child / FILE_NAME).is_file()
    )


def pick_text(response: str) -> str:
    """A stored response (JSON) as a person reads it: `b`, `a, c`, `true`, `0.5`."""
    try:
        value = json.loads(response)
    except ValueError:
        return response
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def class_stats(
    directory: Path, questions: Sequence[Question], language: str | None = None
) -> dict[str, Any]:
    """Learners, answers, accuracy by question and topic, and the most missed questions with
    the wrong answer given most often (titles in `language`). Every answer counts, retries
    included."""
    titles = {q.id: q.title.get(language) for q in questions}
    learners: list[dict[str, Any]] = []
    unreadable: list[dict[str, str]] = []
    by_question: dict[str, QuestionTally] = {}
    by_topic: dict[str, Tally] = {}
    total = Tally()
    for name, path in learner_stores(directory):
        mine = Tally()
        try:
            with _reading(path) as db:
                rows = db.execute(
                    "SELECT question, topic, response, correct FROM answers ORDER BY id"
                ).fetchall()
        except sqlite3.Error as exc:
            unreadable.append({"learner": name, "reason": str(exc)})
            continue
        for question, topic, response, correct in rows:
            right = bool(correct)
            mine.add(right)
            total.add(right)
            entry = by_question.setdefault(question, QuestionTally(topic=topic))
            entry.add(right)
            entry.learners.add(name)
            if not right:
                entry.wrong_picks[pick_text(response)] += 1
            by_topic.setdefault(topic, Tally()).add(right)
        learners.append(
            {
                "name": name,
                "answered": mine.answered,
                "correct": mine.correct,
                "accuracy": mine.accuracy,
            }
        )
    questions_document = {
        qid: {
            "title": titles.get(qid, qid),
            "topic": entry.topic,
            "learners": len(entry.learners),
            "answered": entry.answered,
            "correct": entry.correct,
            "accuracy": entry.accuracy,
            "wrong_picks": dict(entry.wrong_picks.most_common()),
        }
        for qid, entry in sorted(by_question.items())
    }
    missed = sorted(
        (item for item in by_question.items() if item[1].wrong_picks),
        key=lambda item: (-item[1].wrong, item[0]),
    )[:MOST_MISSED]
    return {
        "learners": learners,
        "answered": total.answered,
        "correct": total.correct,
        "accuracy": total.accuracy,
        "by_question": questions_document,
        "by_topic": {
            topic: {"answered": t.answered, "correct": t.correct, "accuracy": t.accuracy}
            for topic, t in sorted(by_topic.items())
        },
        "most_missed": [
            {
                "id": qid,
                "title": titles.get(qid, qid),
                "wrong": entry.wrong,
                "answered": entry.answered,
                "most_picked_wrong": pick,
                "picked": times,
            }
            for qid, entry in missed
            for pick, times in entry.wrong_picks.most_common(1)
        ],
        "unreadable": unreadable,
    }
