"""Leeches: six misses take a question out of drills; a right answer from its closer look
brings it back, and six misses more make it a leech again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Scheduler

from gradquiz.format import Question, load
from gradquiz.locations import bundled_questions
from gradquiz.progress.drill import Progress, Review
from gradquiz.progress.leech import LEECH_MISSES, is_leech
from gradquiz.progress.stats import stats
from gradquiz.progress.store import open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bank() -> list[Question]:
    return load([bundled_questions()]).questions


@pytest.fixture
def progress(tmp_path: Path) -> Progress:
    return Progress(open_store(tmp_path, NOW).store, Scheduler(enable_fuzzing=False), 3)


def review(progress: Progress, q: Question, correct: bool, minutes: int) -> Review:
    return progress.review(
        q,
        response="A",
        correct=correct,
        seconds=30,
        torch=None,
        now=NOW + timedelta(minutes=minutes),
    )


def test_the_rule_counts_every_miss_since_the_last_clearing() -> None:
    assert LEECH_MISSES == 6
    assert not is_leech(5, None) and is_leech(6, None)
    # Cleared at 6 misses: a leech again at 12, not at 7.
    assert not is_leech(11, 6) and is_leech(12, 6)


def test_six_misses_make_a_leech_that_drills_leave_out(
    progress: Progress, bank: list[Question]
) -> None:
    leech, other = bank[0], bank[1]
    # Right answers in between do not reset the count: misses, not lapses in a row.
    for n in range(5):
        assert not review(progress, leech, False, 2 * n).leech
        review(progress, leech, True, 2 * n + 1)
    review(progress, other, False, 20)
    sixth = review(progress, leech, False, 30)
    assert sixth.leech and not sixth.cleared
    assert progress.leeches() == {leech.id}
    later = NOW + timedelta(days=60)
    # Both are long due, both last answered wrong: only the one that is no leech is served.
    assert progress.queue(bank[:2], later) == [other]
    assert progress.queue(bank[:2], later, mistakes=True) == [other]
    document = stats(progress, bank, later)
    assert document["leeches"] == [{"id": leech.id, "title": leech.title.get(), "wrong": 6}]
    flags = {item["id"]: item["leech"] for item in document["most_missed"]}
    assert flags == {leech.id: True, other.id: False}
    assert document["due_now"] == 1


def test_a_right_answer_clears_it_and_undo_puts_the_leech_back(
    progress: Progress, bank: list[Question]
) -> None:
    leech = bank[0]
    for n in range(6):
        review(progress, leech, False, n)
    right = review(progress, leech, True, 10)
    assert right.cleared and not right.leech and right.cleared_before is None
    assert progress.leeches() == set()
    assert progress.queue([leech], NOW + timedelta(days=60)) == [leech]
    assert progress.undo(right)
    assert progress.leeches() == {leech.id}
    right = review(progress, leech, True, 11)
    # Five misses more are not enough; the sixth since the clearing is.
    for n in range(5):
        assert not review(progress, leech, False, 20 + n).leech
    again = review(progress, leech, False, 30)
    assert again.leech and progress.store.cleared() == {leech.id: 6}


def test_reset_forgets_the_clearing_too(progress: Progress, bank: list[Question]) -> None:
    leech = bank[0]
    for n in range(6):
        review(progress, leech, False, n)
    review(progress, leech, True, 10)
    assert progress.store.cleared() == {leech.id: 6}
    progress.store.reset([leech.id])
    assert progress.store.cleared() == {}
    for n in range(6):
        review(progress, leech, False, 20 + n)
    assert progress.leeches() == {leech.id}
    progress.store.reset()
    assert progress.store.cleared() == {} and progress.leeches() == set()
