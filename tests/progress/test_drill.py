"""Scheduling: ratings, due dates by FSRS's own rules, the drill queue, changed questions, stats."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating, Scheduler

from gradquiz.format import Question, load
from gradquiz.format.model import Text
from gradquiz.locations import bundled_questions
from gradquiz.progress.drill import Progress, content_hash, rating_for
from gradquiz.progress.stats import STREAK_PREF, export, stats, streak_days
from gradquiz.progress.store import Answer, open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bank() -> list[Question]:
    return load([bundled_questions()]).questions


@pytest.fixture
def progress(tmp_path: Path) -> Progress:
    # No fuzz: intervals are FSRS's exact numbers, so they can be checked by hand.
    return Progress(open_store(tmp_path, NOW).store, Scheduler(enable_fuzzing=False), 3)


def answer(
    progress: Progress, q: Question, correct: bool, at: datetime, seconds: float = 30
) -> Answer:
    return progress.record(
        q, response="A", correct=correct, seconds=seconds, torch="2.13.0", now=at
    )


def test_ratings() -> None:
    assert rating_for(False, 3, 0) is Rating.Again
    assert rating_for(True, 3, 0) is Rating.Easy
    assert rating_for(True, 3, 1) is Rating.Good  # a hint means it was not known outright
    assert rating_for(True, 45, 0) is Rating.Good


def test_due_dates_follow_fsrs_learning_steps_and_intervals(
    progress: Progress, bank: list[Question]
) -> None:
    a, b, c = bank[:3]
    answer(progress, a, False, NOW)  # Again: the first learning step, one minute
    answer(progress, b, True, NOW)  # Good on a new card: the second step, ten minutes
    answer(progress, c, True, NOW, seconds=5)  # Easy: straight to review, S0 = 8.2956 days
    cards = progress.store.cards()
    assert cards[a.id].due == NOW + timedelta(minutes=1)
    assert cards[b.id].due == NOW + timedelta(minutes=10)
    assert cards[c.id].due == NOW + timedelta(days=8)
    # Good again once due: graduates to review with stability 2.3065 -> 2 days.
    answer(progress, b, True, NOW + timedelta(minutes=10))
    assert progress.store.cards()[b.id].due == NOW + timedelta(minutes=10, days=2)


def test_the_queue_serves_due_first_then_new_up_to_the_daily_limit(
    progress: Progress, bank: list[Question]
) -> None:
    assert [q.id for q in progress.queue(bank, NOW)] == [q.id for q in bank[:3]]
    answer(progress, bank[0], False, NOW)
    answer(progress, bank[1], True, NOW, seconds=5)
    later = NOW + timedelta(minutes=2)
    # bank[0] is due again (one-minute step); two of today's three new are used: one is left.
    assert [q.id for q in progress.queue(bank, later)] == [bank[0].id, bank[2].id]
    assert progress.queue(bank, later, limit=1) == [bank[0]]
    # Tomorrow brings three new questions again; bank[1] rests for eight days.
    tomorrow = [q.id for q in progress.queue(bank, NOW + timedelta(days=1))]
    assert tomorrow == [bank[0].id, bank[2].id, bank[3].id, bank[4].id]


def test_topic_and_mistakes_filters(progress: Progress, bank: list[Question]) -> None:
    topic = bank[-1].topic
    served = progress.queue(bank, NOW, topic=topic)
    assert served and all(q.topic == topic for q in served)
    answer(progress, bank[0], False, NOW)
    answer(progress, bank[1], True, NOW)
    answer(progress, bank[2], True, NOW)
    answer(progress, bank[2], False, NOW + timedelta(seconds=1))
    assert progress.queue(bank, NOW, mistakes=True) == [bank[0], bank[2]]
    answer(progress, bank[0], True, NOW + timedelta(seconds=2))
    assert progress.queue(bank, NOW, mistakes=True) == [bank[2]]


def test_a_changed_question_keeps_its_history_and_is_served_again(
    progress: Progress, bank: list[Question]
) -> None:
    q = bank[0]
    answer(progress, q, True, NOW, seconds=5)
    assert q not in progress.due(bank, NOW + timedelta(days=1))
    edited = dataclasses.replace(q, prompt=Text({"en": q.prompt.get() + " (clarified)"}))
    assert content_hash(edited) != content_hash(q)
    assert progress.due([edited], NOW + timedelta(days=1)) == [edited]
    answer(progress, edited, True, NOW + timedelta(days=1), seconds=5)
    history = progress.store.answers(q.id)
    assert [a.content_hash for a in history] == [content_hash(q), content_hash(edited)]
    assert progress.due([edited], NOW + timedelta(days=2)) == []


def test_moving_a_question_in_its_file_is_not_a_change(bank: list[Question]) -> None:
    q = bank[0]
    moved = dataclasses.replace(q, location=dataclasses.replace(q.location, line=999))
    assert content_hash(moved) == content_hash(q)


def test_skip_rests_a_question_until_tomorrow(progress: Progress, bank: list[Question]) -> None:
    progress.skip(bank[0], NOW)
    assert bank[0] not in progress.queue(bank, NOW)
    assert progress.queue(bank, NOW)[0] == bank[1]
    assert bank[0] in progress.queue(bank, NOW + timedelta(days=1))


def test_reset_one_and_all(progress: Progress, bank: list[Question]) -> None:
    answer(progress, bank[0], False, NOW)
    answer(progress, bank[1], False, NOW)
    assert progress.store.reset([bank[0].id]) == 1
    assert [a.question for a in progress.store.answers()] == [bank[1].id]
    assert bank[0].id not in progress.store.cards()
    assert progress.store.reset() == 1
    assert progress.store.answers() == [] and progress.store.cards() == {}


def test_stats_by_hand(progress: Progress, bank: list[Question]) -> None:
    first, second = bank[0], bank[1]
    answer(progress, first, False, NOW)
    answer(progress, first, True, NOW + timedelta(minutes=1))
    answer(progress, second, True, NOW, seconds=5)
    third = bank[2]
    answer(progress, third, True, NOW)
    answer(progress, third, True, NOW + timedelta(minutes=10))
    document = stats(progress, bank, NOW + timedelta(minutes=30))
    assert document["answered"] == 5 and document["correct"] == 4
    assert document["accuracy"] == pytest.approx(0.8)
    # first: Again then Good -> second learning step, due ten minutes after NOW+1min.
    assert document["due_now"] == 1
    topic = document["by_topic"][first.topic]
    assert topic["answered"] >= 2 and topic["correct"] >= 1
    assert document["most_missed"] == [
        {"id": first.id, "title": first.title.get(), "wrong": 1, "answered": 2, "leech": False}
    ]
    assert document["leeches"] == []
    week = {d["date"]: d["due"] for d in document["due_next_7_days"]}
    # third: Good, Good -> two days; second: Easy -> eight days, past the week shown.
    assert week == {f"2026-11-{day}": int(day == 24) for day in range(22, 29)}
    assert "streak" not in document
    progress.store.set_pref(STREAK_PREF, "on")
    assert stats(progress, bank, NOW)["streak"] == 1


def test_streak_counts_days_in_a_row() -> None:
    today = NOW.date()
    days = {today - timedelta(days=n) for n in (1, 2, 3, 5)}
    assert streak_days(days, today) == 3
    assert streak_days(days | {today}, today) == 4
    assert streak_days({today - timedelta(days=2)}, today) == 0


def test_export_csv_and_json(progress: Progress, bank: list[Question]) -> None:
    answer(progress, bank[0], False, NOW)
    progress.record(bank[1], response=["A", "B"], correct=True, seconds=2.5, torch=None, now=NOW)
    rows = list(csv.DictReader(io.StringIO(export(progress.store.answers(), "csv"))))
    assert [r["question"] for r in rows] == [bank[0].id, bank[1].id]
    assert rows[1]["response"] == '["A", "B"]' and rows[1]["correct"] == "True"
    assert rows[0]["answered_at"] == "2026-11-22T09:00:00.000000+00:00"
    data = json.loads(export(progress.store.answers(), "json"))
    assert data[1]["response"] == ["A", "B"] and data[1]["seconds"] == 2.5
    assert data[1]["torch"] is None and data[0]["rating"] == int(Rating.Again)


def test_the_draw_is_saved_with_the_answer_and_the_card_keeps_one_history(
    progress: Progress, bank: list[Question]
) -> None:
    from gradquiz.format.model import Draw
    from gradquiz.format.params import drawn

    question = next(q for q in bank if q.id == "trace-sgd-steps-by-hand")
    first = progress.record(
        drawn(question, Draw(2, 99)),
        response=[1.0, 2.0],
        correct=False,
        seconds=9,
        torch=None,
        now=NOW,
    )
    later = NOW + timedelta(days=1)
    second = progress.record(
        drawn(question, Draw(1, 5)),
        response=[1.0, 2.0],
        correct=True,
        seconds=9,
        torch=None,
        now=later,
    )
    assert json.loads(first.draw or "") == {"draw": 2, "seed": 99}
    saved = progress.store.answers(question.id)
    assert [Draw.from_json(json.loads(a.draw or "")) for a in saved] == [Draw(2, 99), Draw(1, 5)]
    # Every draw counts for the question as written: one content hash, one card.
    assert (
        first.content_hash
        == second.content_hash
        == progress.store.cards()[question.id].content_hash
    )
    plain = progress.record(bank[0], response="A", correct=True, seconds=9, torch=None, now=later)
    assert plain.draw is None


def test_retention_from_the_settings_file_sets_how_soon_a_question_comes_back(
    bank: list[Question],
) -> None:
    from gradquiz import locations
    from gradquiz.progress import open_progress

    def due_after_two_right_answers(retention: str) -> timedelta:
        home = locations.home()
        home.mkdir(parents=True, exist_ok=True)
        (home / "settings.toml").write_text(f"retention = {retention}\n")
        for old in home.glob("progress*"):
            old.unlink()
        progress, notices = open_progress(NOW)
        assert notices == []
        assert progress.scheduler.desired_retention == float(retention)
        later = NOW + timedelta(days=1)
        for at in (NOW, later):
            answer(progress, bank[0], True, at)
        due = progress.store.cards()[bank[0].id].due - later
        progress.store.close()
        return due

    # The same two answers: aiming to remember more means seeing it again sooner.
    assert due_after_two_right_answers("0.97") < due_after_two_right_answers("0.8")


def test_a_retention_out_of_bounds_is_said_and_the_default_used() -> None:
    from gradquiz import locations
    from gradquiz.progress import open_progress

    home = locations.home()
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text("retention = 1.5\n")
    progress, notices = open_progress(NOW)
    progress.store.close()
    assert progress.scheduler.desired_retention == 0.9
    assert notices == [
        f"{home / 'settings.toml'}: retention must be a number from 0.7 to 0.99; using 0.9"
    ]


def test_undo_takes_the_answer_back_and_restores_the_card(
    progress: Progress, bank: list[Question]
) -> None:
    question = bank[0]
    first = progress.review(question, response="A", correct=True, seconds=30, torch=None, now=NOW)
    assert first.card_before is None
    before = progress.store.cards()[question.id]
    later = NOW + timedelta(days=1)
    second = progress.review(
        question, response="B", correct=False, seconds=30, torch=None, now=later
    )
    assert second.card_before == before
    assert progress.undo(second)
    assert [a.response for a in progress.store.answers(question.id)] == ['"A"']
    assert progress.store.cards()[question.id] == before
    assert not progress.undo(second)  # once only
    assert progress.undo(first)
    assert progress.store.answers(question.id) == [] and question.id not in progress.store.cards()
