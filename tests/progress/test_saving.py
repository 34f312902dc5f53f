"""Saving when the disk or the database pushes back: retried, explained, and odd files refused."""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gradquiz.format import Question, load
from gradquiz.progress.drill import Progress
from gradquiz.progress.saving import retried, why_not_saved
from gradquiz.progress.store import FILE_NAME, open_store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PACKS = Path(__file__).parents[1] / "tui" / "packs"


@pytest.fixture(scope="module")
def question() -> Question:
    found = load([PACKS]).get("accumulate")
    assert found is not None
    return found


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Opening must not block (SQLite opening a FIFO would wait for a writer forever)."""
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("opening the store hung"))
    signal.alarm(5)
    yield
    signal.alarm(0)


def answer(progress: Progress, question: Question) -> None:
    progress.record(question, response="A", correct=True, seconds=3.0, torch=None, now=NOW)


def test_retried_tries_again_after_each_pause_and_returns_the_result() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "written"

    assert retried(flaky, (0.2, 1.0), slept.append) == "written"
    assert len(calls) == 3 and slept == [0.2, 1.0]


def test_retried_raises_the_last_error_when_every_attempt_fails() -> None:
    slept: list[float] = []

    def full() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        retried(full, (0.1, 0.1), slept.append)
    assert slept == [0.1, 0.1]


def test_a_full_database_is_called_a_full_disk(tmp_path: Path, question: Question) -> None:
    progress = Progress(open_store(tmp_path).store)
    db = progress.store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        for _ in range(200):
            progress.record(
                question, response="A" * 2000, correct=True, seconds=1, torch=None, now=NOW
            )
    assert why_not_saved(caught.value) == "the disk is full"
    assert why_not_saved(OSError(28, "No space left on device")) == "the disk is full"


def test_a_lock_held_past_the_timeout_is_named(tmp_path: Path, question: Question) -> None:
    progress = Progress(open_store(tmp_path).store)
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    progress.store._db.execute("PRAGMA busy_timeout = 0")
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            answer(progress, question)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert why_not_saved(caught.value) == "the progress file is locked by another program"
    answer(progress, question)  # once the lock is gone, the same store saves again
    assert progress.store.answer_count() == 1


def test_a_deleted_file_is_written_again_with_everything_it_held(
    tmp_path: Path, question: Question
) -> None:
    progress = Progress(open_store(tmp_path).store)
    answer(progress, question)
    for path in tmp_path.glob(FILE_NAME + "*"):
        path.unlink()
    answer(progress, question)
    assert (tmp_path / FILE_NAME).is_file()
    reader = sqlite3.connect(tmp_path / FILE_NAME)
    try:
        assert reader.execute("SELECT count(*) FROM answers").fetchone()[0] == 2
    finally:
        reader.close()


def test_a_directory_gone_fails_to_save_in_words(tmp_path: Path, question: Question) -> None:
    home = tmp_path / "home"
    progress = Progress(open_store(home).store)
    for path in home.iterdir():
        if path.is_dir():
            for inner in path.iterdir():
                inner.unlink()
            path.rmdir()
        else:
            path.unlink()
    home.rmdir()
    with pytest.raises(FileNotFoundError) as caught:
        answer(progress, question)
    assert why_not_saved(caught.value) == f"the progress directory is gone ({home})"
    home.mkdir()
    answer(progress, question)  # saving works again as soon as the directory is back
    assert (home / FILE_NAME).is_file()


@pytest.mark.usefixtures("no_hang")
def test_a_fifo_where_the_file_should_be_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / FILE_NAME)
    opened = open_store(tmp_path)
    assert not opened.store.saving
    assert opened.notices == [
        f"Progress is not being saved: {tmp_path / FILE_NAME} is not a regular file (a FIFO, "
        "socket or device). Move it away and gradquiz starts a new one."
    ]


@pytest.mark.usefixtures("no_hang")
def test_a_directory_or_a_dangling_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / FILE_NAME).mkdir(parents=True)
    opened = open_store(tmp_path / "a")
    assert not opened.store.saving
    assert f"{tmp_path / 'a' / FILE_NAME} is a directory, not a file" in opened.notices[0]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / FILE_NAME).symlink_to(tmp_path / "nowhere" / "x.sqlite3")
    opened = open_store(tmp_path / "b")
    assert not opened.store.saving
    assert (
        f"is a link to {tmp_path / 'nowhere' / 'x.sqlite3'}, which does not exist"
        in opened.notices[0]
    )
