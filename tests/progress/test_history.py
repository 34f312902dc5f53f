"""Each question's history added up by SQLite: the numbers drills and stats read."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradquiz.format import load
from gradquiz.progress.drill import Progress
from gradquiz.progress.history import QuestionHistory, answer_days, history
from gradquiz.progress.store import FILE_NAME, MIGRATIONS, SCHEMA_VERSION, open_store
from tests.conftest import PACKS

QUESTIONS = {q.id: q for q in load([PACKS / "good.yaml"]).questions}
START = datetime(2026, 11, 20, 9, tzinfo=UTC)


def answered(progress: Progress, qid: str, correct: bool, minutes: int) -> None:
    progress.record(
        QUESTIONS[qid],
        response="A",
        correct=correct,
        seconds=30,
        torch="2.13.0",
        now=START + timedelta(minutes=minutes),
    )


def test_counts_first_answer_and_last_result_per_question(tmp_path: Path) -> None:
    progress = Progress(open_store(tmp_path).store)
    assert history(progress.store).by_question == {}
    answered(progress, "accumulate", False, 0)
    answered(progress, "accumulate", True, 5)
    answered(progress, "accumulate", False, 10)
    answered(progress, "step-rule", True, 3)
    past = history(progress.store)
    assert past.by_question == {
        "accumulate": QuestionHistory(3, 1, START, last_correct=False),
        "step-rule": QuestionHistory(1, 1, START + timedelta(minutes=3), last_correct=True),
    }
    assert past.by_question["accumulate"].wrong == 2
    assert (past.answered, past.correct) == (4, 2)
    assert past.by_topic == {"training-loop": (3, 1), "optimizer-step": (1, 1)}
    assert progress.states() == {"accumulate": "wrong", "step-rule": "right"}


def test_answers_keep_the_topic_they_were_given_under(tmp_path: Path) -> None:
    from dataclasses import replace

    progress = Progress(open_store(tmp_path).store)
    answered(progress, "accumulate", True, 0)
    moved = replace(QUESTIONS["accumulate"], topic="accumulation")
    progress.record(
        moved, response="A", correct=False, seconds=9, torch=None, now=START + timedelta(hours=1)
    )
    past = history(progress.store)
    assert past.by_topic == {"training-loop": (1, 1), "accumulation": (1, 0)}
    assert past.by_question["accumulate"] == QuestionHistory(2, 1, START, last_correct=False)


def test_the_last_answer_is_the_latest_by_time_then_by_order(tmp_path: Path) -> None:
    progress = Progress(open_store(tmp_path).store)
    answered(progress, "retain", True, 10)
    answered(progress, "retain", False, 0)  # saved later, answered earlier (another clock)
    assert history(progress.store).by_question["retain"].last_correct is True
    answered(progress, "retain", False, 10)  # the same moment: the later save wins
    assert history(progress.store).by_question["retain"].last_correct is False


def test_answer_days_are_local_calendar_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9: 20:00 UTC is the next day there
    time.tzset()
    try:
        progress = Progress(open_store(tmp_path).store)
        for minutes in (0, 11 * 60, 12 * 60):  # 09:00, 20:00, 21:00 UTC
            answered(progress, "reduction", True, minutes)
        days = answer_days(progress.store)
        assert days == {START.date(), START.date() + timedelta(days=1)}
        assert days == {(START + timedelta(minutes=m)).astimezone().date() for m in (0, 660)}
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_version_1_file_gains_the_summary_index(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / FILE_NAME)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO answers (question, content_hash, topic, answered_at, response, correct, "
        "seconds) VALUES ('retain', 'h', 'retain-graph', ?, '\"A\"', 1, 3.0)",
        (START.isoformat(timespec="microseconds"),),
    )
    db.commit()
    db.close()
    store = open_store(tmp_path).store
    assert [tuple(row) for row in store.query("PRAGMA user_version")] == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 4
    plan = store.query(
        "EXPLAIN QUERY PLAN SELECT question, topic, count(*), sum(correct), min(answered_at) "
        "FROM answers GROUP BY question, topic"
    )
    assert "COVERING INDEX answers_summary" in plan[0][-1]
    assert history(store).by_question == {"retain": QuestionHistory(1, 1, START, True)}
