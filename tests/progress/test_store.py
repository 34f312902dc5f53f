"""The progress file: nothing lost, nothing fatal, whatever state the file or directory is in."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradquiz.format import Question, load
from gradquiz.locations import bundled_questions
from gradquiz.progress import store as store_module
from gradquiz.progress.backups import backup_if_due, backup_time, thin
from gradquiz.progress.drill import Progress
from gradquiz.progress.store import FILE_NAME, SCHEMA_VERSION, open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load([bundled_questions()]).questions[:5]


def answer_some(home: Path, questions: list[Question], count: int) -> None:
    progress = Progress(open_store(home, NOW).store)
    for n in range(count):
        progress.record(
            questions[n % len(questions)],
            response="A",
            correct=True,
            seconds=4.0,
            torch="2.13.0",
            now=NOW + timedelta(minutes=n),
        )
    progress.store.close()


def answers_in(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
    finally:
        db.close()


def test_an_answer_is_saved_with_everything_the_issue_names(
    tmp_path: Path, questions: list[Question]
) -> None:
    progress = Progress(open_store(tmp_path, NOW).store)
    progress.record(
        questions[0],
        response=["A", "C"],
        correct=False,
        seconds=12.5,
        torch="2.13.0",
        now=NOW,
    )
    progress.store.close()
    db = sqlite3.connect(tmp_path / FILE_NAME)
    row = db.execute(
        "SELECT question, content_hash, response, correct, seconds, torch, rating FROM answers"
    ).fetchone()
    assert row[0] == questions[0].id
    assert len(row[1]) == 16
    assert (row[2], row[3], row[4], row[5], row[6]) == ('["A", "C"]', 0, 12.5, "2.13.0", 1)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_history_survives_reopening(tmp_path: Path, questions: list[Question]) -> None:
    answer_some(tmp_path, questions, 7)
    opened = open_store(tmp_path, NOW)
    assert opened.notices == []
    assert [a.question for a in opened.store.answers()] == [q.id for q in questions] + [
        q.id for q in questions[:2]
    ]


def notice_and_moved(tmp_path: Path) -> tuple[str, Path]:
    opened = open_store(tmp_path, NOW + timedelta(days=1))
    assert opened.store.saving
    assert opened.store.answer_count() == 0
    (notice,) = opened.notices
    moved = [p for p in tmp_path.iterdir() if ".damaged-" in p.name and p.suffix != "-wal"]
    assert moved, "the damaged file must be kept"
    assert str(moved[0]) in notice
    opened.store.close()
    return notice, moved[0]


def test_garbage_over_the_header_is_moved_aside_and_kept(
    tmp_path: Path, questions: list[Question]
) -> None:
    answer_some(tmp_path, questions, 3)
    path = tmp_path / FILE_NAME
    original = path.read_bytes()
    path.write_bytes(b"this is not a database at all" * 10 + original[290:])
    damaged = path.read_bytes()
    notice, moved = notice_and_moved(tmp_path)
    assert "file is not a database" in notice
    assert moved.name.startswith("progress.sqlite3.damaged-20261123T090000Z")
    assert moved.read_bytes() == damaged


def test_corrupt_pages_inside_the_file_are_detected(
    tmp_path: Path, questions: list[Question]
) -> None:
    answer_some(tmp_path, questions, 40)
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    # Overwrite the second page (the first table's b-tree) with noise, keeping the header.
    data[page : 2 * page] = bytes((n * 37) % 251 for n in range(page))
    path.write_bytes(bytes(data))
    notice, _ = notice_and_moved(tmp_path)
    assert "damaged" in notice


def test_a_truncated_file_is_moved_aside(tmp_path: Path, questions: list[Question]) -> None:
    answer_some(tmp_path, questions, 40)
    path = tmp_path / FILE_NAME
    data = path.read_bytes()
    assert len(data) > 4096
    path.write_bytes(data[: len(data) // 2 + 100])
    notice_and_moved(tmp_path)


def test_a_zero_byte_file_is_an_empty_database_and_starts_fresh(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"")
    opened = open_store(tmp_path, NOW)
    assert opened.notices == []
    assert opened.store.saving and opened.store.answer_count() == 0


def test_a_garbage_wal_file_loses_nothing_committed(
    tmp_path: Path, questions: list[Question]
) -> None:
    answer_some(tmp_path, questions, 5)
    (tmp_path / (FILE_NAME + "-wal")).write_bytes(os.urandom(8192))
    opened = open_store(tmp_path, NOW)
    assert opened.notices == []
    assert opened.store.answer_count() == 5


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE answers (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    opened = open_store(tmp_path, NOW)
    (notice,) = opened.notices
    assert "not being saved" in notice
    assert f"newer gradquiz (schema {SCHEMA_VERSION + 1}" in notice
    assert not opened.store.saving
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.damaged-*"))


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """A directory nobody can write, root included (chmod alone does not stop root)."""
    directory.chmod(0o555)
    immutable = (
        os.geteuid() == 0
        and subprocess.run(["chattr", "+i", str(directory)], check=False).returncode == 0
    )
    try:
        probe = directory / "probe"
        with contextlib.suppress(OSError):
            probe.touch()
            probe.unlink()
            pytest.fail(f"could not make {directory} read-only for this test")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        directory.chmod(0o755)


def test_a_read_only_directory_runs_in_memory_with_the_history_readable(
    tmp_path: Path, questions: list[Question]
) -> None:
    answer_some(tmp_path, questions, 3)
    before = (tmp_path / FILE_NAME).read_bytes()
    with read_only(tmp_path):
        opened = open_store(tmp_path, NOW)
        (notice,) = opened.notices
        assert notice == f"Progress is not being saved: {tmp_path} is read-only."
        assert not opened.store.saving
        assert opened.store.answer_count() == 3
        Progress(opened.store).record(
            questions[0], response="B", correct=False, seconds=1, torch=None, now=NOW
        )
        assert opened.store.answer_count() == 4
    assert (tmp_path / FILE_NAME).read_bytes() == before


def test_a_directory_that_cannot_be_created_runs_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    opened = open_store(blocker / "home", NOW)
    (notice,) = opened.notices
    assert notice.startswith(f"Progress is not being saved: cannot create {blocker / 'home'}: ")
    assert not opened.store.saving


def writer(home: Path, count: int, label: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.progress.writer", str(home), str(count), label],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_writers_at_once_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    first, second = writer(tmp_path, 150, "one"), writer(tmp_path, 150, "two")
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    db = sqlite3.connect(tmp_path / FILE_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    responses = [r for (r,) in db.execute("SELECT response FROM answers")]
    assert sorted(responses) == sorted(
        [f'"one-{n}"' for n in range(150)] + [f'"two-{n}"' for n in range(150)]
    )
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 5


def kill_after(home: Path, answers: int) -> int:
    """Start a writer, kill -9 it once `answers` are committed; how many it had reported."""
    process = writer(home, 100_000, "k")
    assert process.stdout is not None
    committed = 0
    for line in process.stdout:
        committed = int(line)
        if committed >= answers:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return committed


def test_a_killed_writer_loses_at_most_the_answer_being_written(tmp_path: Path) -> None:
    committed = kill_after(tmp_path, 60)
    # The killed process left its write-ahead log behind: opening must replay it.
    assert (tmp_path / (FILE_NAME + "-wal")).exists()
    opened = open_store(tmp_path, NOW)
    assert opened.notices == []
    assert committed <= opened.store.answer_count() <= committed + 2


def test_a_stale_wal_copied_with_its_database_is_replayed(tmp_path: Path) -> None:
    committed = kill_after(tmp_path / "a", 20)
    moved = tmp_path / "b"
    moved.mkdir()
    for name in (FILE_NAME, FILE_NAME + "-wal"):
        (moved / name).write_bytes((tmp_path / "a" / name).read_bytes())
    opened = open_store(moved, NOW)
    assert opened.notices == []
    assert opened.store.answer_count() >= committed


def test_backups_are_made_daily_while_there_is_history(
    tmp_path: Path, questions: list[Question]
) -> None:
    opened = open_store(tmp_path, NOW)
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())
    opened.store.close()
    answer_some(tmp_path, questions, 2)
    # answer_some opened the store at NOW with no answers yet: still no backup.
    open_store(tmp_path, NOW + timedelta(hours=1)).store.close()
    open_store(tmp_path, NOW + timedelta(hours=5)).store.close()
    open_store(tmp_path, NOW + timedelta(days=1, hours=2)).store.close()
    names = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert names == [
        "progress-20261122T100000Z.sqlite3",
        "progress-20261123T110000Z.sqlite3",
    ]
    assert answers_in(tmp_path / "backups" / names[0]) == 2


def test_thinning_keeps_one_a_day_then_one_a_week_then_one_a_month() -> None:
    moments = [NOW - timedelta(hours=12 * n) for n in range(800)]
    keep = thin(moments, NOW)
    days = [m for m in keep if NOW - m <= timedelta(days=7)]
    assert len(days) == 8  # today and the seven days before, newest of each
    assert NOW in keep
    assert all(NOW - m <= timedelta(days=366) for m in keep)
    months = {(m.year, m.month) for m in keep}
    assert len(months) == 13
    assert len(keep) < 30


def test_backup_thinning_deletes_only_thinned_copies(
    tmp_path: Path, questions: list[Question]
) -> None:
    answer_some(tmp_path, questions, 1)
    store = open_store(tmp_path, NOW).store
    directory = tmp_path / "backups"
    for n in range(2, 40):
        backup_if_due(store, directory, NOW + timedelta(days=n))
    kept = sorted(t for p in directory.iterdir() if (t := backup_time(p)) is not None)
    assert kept == sorted(thin(kept, NOW + timedelta(days=39)))
    assert max(kept) == NOW + timedelta(days=39)
    assert len(kept) < 38


def test_a_locked_file_is_left_untouched_not_taken_for_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILE_NAME
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    try:
        opened = open_store(tmp_path, NOW)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    (notice,) = opened.notices
    assert notice == (
        f"Progress is not being saved: {path} could not be opened (database is locked); "
        "it was left untouched."
    )
    assert not list(tmp_path.glob("*.damaged-*"))
    assert open_store(tmp_path, NOW).notices == []
