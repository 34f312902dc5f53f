"""The learner's answers and review cards in SQLite. No textual, no torch.

Opening never fails: a damaged file is moved aside and a fresh one started, a directory that
cannot be written runs in memory, and a file from a newer gradquiz is left alone. Each of these
leaves a notice for the screen to show. Daily copies are `backups`' business; retrying a
write that fails is `saving`'s.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gradquiz.i18n import _
from gradquiz.progress.backups import BACKUPS, backup_if_due, backup_name

FILE_NAME = "progress.sqlite3"
# A second process holding the write lock finishes its one-answer transaction in milliseconds.
BUSY_TIMEOUT_MS = 10_000

# Each entry upgrades the schema by one version; `PRAGMA user_version` says how many ran.
# Never edit a released entry: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            question TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            topic TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            response TEXT NOT NULL,
            correct INTEGER NOT NULL,
            seconds REAL NOT NULL,
            torch TEXT,
            rating INTEGER
        )""",
        "CREATE INDEX answers_by_question ON answers (question, answered_at)",
        """CREATE TABLE cards (
            question TEXT PRIMARY KEY,
            content_hash TEXT NOT NULL,
            card TEXT NOT NULL,
            due TEXT NOT NULL,
            buried_until TEXT
        )""",
        "CREATE TABLE prefs (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # Covers what drills and stats add up per question (progress.history), so years of
    # answers are summed from the index without reading a row of the table.
    ("CREATE INDEX answers_summary ON answers (question, topic, correct, answered_at)",),
    # The attempt's draw (`{"draw": K, "seed": S}`): the numbers and letters the learner saw.
    ("ALTER TABLE answers ADD COLUMN draw TEXT",),
    # A leech cleared by a right answer from its closer look, with how many times it had
    # been missed then: it is a leech again only after as many misses more (progress.leech).
    ("CREATE TABLE leeches_cleared (question TEXT PRIMARY KEY, misses INTEGER NOT NULL)",),
)
SCHEMA_VERSION = len(MIGRATIONS)


class Damaged(Exception):
    """The file is not a sound SQLite database: it can only be moved aside."""


# What SQLite says of a file that is not a database, or a broken one (extended codes included).
DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def damaged(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(DAMAGE)


class NewerDatabase(Exception):
    """Written by a newer gradquiz: reading it could misread it, writing could break it."""


def stamp(moment: datetime) -> str:
    """Times are stored as UTC ISO text, which sorts in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Answer:
    question: str
    content_hash: str
    topic: str
    answered_at: datetime
    # JSON of what was given: choice ids, a number, true/false, or an order's lines.
    response: str
    correct: bool
    seconds: float
    torch: str | None
    # The FSRS rating it earned; None for an answer that did not count as a review.
    rating: int | None
    # JSON of the attempt's draw; None for a question without parameters or before schema 3.
    draw: str | None = None


@dataclass(frozen=True)
class CardRow:
    question: str
    content_hash: str
    card: str  # fsrs Card JSON
    due: datetime
    buried_until: datetime | None = None


class Transaction:
    """One write transaction: what a single answer changes, all or nothing."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def card(self, question: str) -> CardRow | None:
        row = self._db.execute(
            "SELECT * FROM cards WHERE question = ?",
            (question,),
        ).fetchone()
        return None if row is None else _card(row)

    def put_card(self, card: CardRow) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, ?)",
            (
                card.question,
                card.content_hash,
                card.card,
                stamp(card.due),
                None if card.buried_until is None else stamp(card.buried_until),
            ),
        )

    def add_answer(self, answer: Answer) -> int:
        """Write the answer; its row id, by which an undo removes it."""
        cursor = self._db.execute(
            "INSERT INTO answers (question, content_hash, topic, answered_at, response, correct,"
            " seconds, torch, rating, draw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                answer.question,
                answer.content_hash,
                answer.topic,
                stamp(answer.answered_at),
                answer.response,
                int(answer.correct),
                answer.seconds,
                answer.torch,
                answer.rating,
                answer.draw,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def remove_answer(self, answer_id: int) -> bool:
        """Take back an answer written in this session; False if it is gone already (a reset)."""
        cursor = self._db.execute("DELETE FROM answers WHERE id = ?", (answer_id,))
        return cursor.rowcount == 1

    def remove_card(self, question: str) -> None:
        self._db.execute("DELETE FROM cards WHERE question = ?", (question,))

    def misses(self, question: str) -> int:
        """How many times the question was answered wrong, ever."""
        row = self._db.execute(
            "SELECT count(*) FROM answers WHERE question = ? AND correct = 0", (question,)
        ).fetchone()
        return int(row[0])

    def cleared_at(self, question: str) -> int | None:
        """The misses the question had when its leech was last cleared; None if never."""
        row = self._db.execute(
            "SELECT misses FROM leeches_cleared WHERE question = ?", (question,)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_cleared_at(self, question: str, misses: int | None) -> None:
        if misses is None:
            self._db.execute("DELETE FROM leeches_cleared WHERE question = ?", (question,))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO leeches_cleared VALUES (?, ?)", (question, misses)
            )


def _card(row: sqlite3.Row) -> CardRow:
    buried = row["buried_until"]
    return CardRow(
        row["question"],
        row["content_hash"],
        row["card"],
        parse_stamp(row["due"]),
        None if buried is None else parse_stamp(buried),
    )


def _answer(row: sqlite3.Row) -> Answer:
    return Answer(
        question=row["question"],
        content_hash=row["content_hash"],
        topic=row["topic"],
        answered_at=parse_stamp(row["answered_at"]),
        response=row["response"],
        correct=bool(row["correct"]),
        seconds=float(row["seconds"]),
        torch=row["torch"],
        rating=row["rating"],
        draw=row["draw"],
    )


class Store:
    """The progress database; `path` is None when nothing is being saved."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path
        # The app opens the store on one thread and reads it on others; one at a time.
        self._lock = threading.RLock()

    @property
    def saving(self) -> bool:
        return self.path is not None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        # IMMEDIATE takes the write lock before reading, so two processes answering the same
        # question update its card one after the other, never from the same stale copy.
        with self._lock:
            self._reattach()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
                # A COMMIT that fails (disk full, locked) leaves nothing half-done either.
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite has rolled back already after some errors (a full disk): a second
                # ROLLBACK would raise and hide the error that matters.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _reattach(self) -> None:
        """If the file was deleted while open, write what the connection still holds to a new
        one in its place; raises FileNotFoundError while its directory is gone.

        On a deleted file SQLite goes on writing into the unlinked inode, and every answer
        would vanish at exit without a word.
        """
        path = self.path
        if path is None or path.exists():
            return
        if not path.parent.is_dir():
            raise FileNotFoundError(2, "the progress directory is gone", str(path.parent))
        fresh = _connect(path)
        self._db.backup(fresh)
        _prepare(fresh, on_disk=True)
        self._db.close()
        self._db = fresh

    def _query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only statement: aggregates for callers that need no single answer."""
        return self._query(sql, parameters)

    def answers(self, question: str | None = None) -> list[Answer]:
        if question is None:
            rows = self._query("SELECT * FROM answers ORDER BY answered_at, id")
        else:
            rows = self._query(
                "SELECT * FROM answers WHERE question = ? ORDER BY answered_at, id", (question,)
            )
        return [_answer(row) for row in rows]

    def answer_count(self) -> int:
        return int(self._query("SELECT count(*) FROM answers")[0][0])

    def cards(self) -> dict[str, CardRow]:
        rows = self._query("SELECT * FROM cards")
        return {row["question"]: _card(row) for row in rows}

    def cleared(self) -> dict[str, int]:
        """Each cleared leech's misses when it was cleared."""
        rows = self._query("SELECT question, misses FROM leeches_cleared")
        return {str(row[0]): int(row[1]) for row in rows}

    def bury(self, question: str, until: datetime) -> bool:
        """Keep a question out of drills until `until`; False if it has no card yet."""
        with self.transaction() as tx:
            card = tx.card(question)
            if card is None:
                return False
            tx.put_card(
                CardRow(card.question, card.content_hash, card.card, card.due, buried_until=until)
            )
        return True

    def reset(self, questions: Sequence[str] | None = None, now: datetime | None = None) -> int:
        """Forget the history of some questions (or all); returns how many answers went.

        Forgetting everything first copies the file to the backups, so a reset made in error
        can still be undone by hand until the copy is thinned out.
        """
        if questions is None and self.path is not None and self.answer_count():
            backups = self.path.parent / BACKUPS
            backups.mkdir(exist_ok=True)
            self.backup_to(backups / backup_name(now or datetime.now(UTC)))
        with self.transaction():
            if questions is None:
                gone = self._db.execute("DELETE FROM answers").rowcount
                self._db.execute("DELETE FROM cards")
                self._db.execute("DELETE FROM leeches_cleared")
            else:
                gone = 0
                for question in questions:
                    gone += self._db.execute(
                        "DELETE FROM answers WHERE question = ?", (question,)
                    ).rowcount
                    self._db.execute("DELETE FROM cards WHERE question = ?", (question,))
                    self._db.execute("DELETE FROM leeches_cleared WHERE question = ?", (question,))
        return gone

    def pref(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM prefs WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_pref(self, key: str, value: str) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO prefs VALUES (?, ?)", (key, value))

    def backup_to(self, target: Path) -> None:
        destination = sqlite3.connect(target)
        try:
            with self._lock:
                self._db.backup(destination)
        finally:
            destination.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class Opened:
    store: Store
    # What the learner should be told: a file moved aside, progress not being saved.
    notices: list[str] = field(default_factory=list)


def _connect(target: str | Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun explicitly, so none is left open by accident.
    connection = sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.row_factory = sqlite3.Row
    return connection


def _prepare(connection: sqlite3.Connection, *, on_disk: bool) -> None:
    """Check the file is sound and bring its schema up to date; raises Damaged if it is not."""
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if damaged(exc):
            raise Damaged(str(exc)) from exc
        raise
    if verdict != "ok":
        raise Damaged(_("integrity check failed: {verdict}").format(verdict=verdict))
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        message = _(
            "it was written by a newer gradquiz (schema {version}; this one knows up to "
            "{known}); upgrade gradquiz to use it"
        )
        raise NewerDatabase(message.format(version=version, known=SCHEMA_VERSION))
    # Only now, with the file known to be ours and sound, is it changed at all.
    if on_disk:
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed answer survives a power cut too, not only a killed process.
        connection.execute("PRAGMA synchronous = FULL")
    if version >= SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read the version again under the write lock: another process opening the same new
        # file may have migrated it since, and running its CREATE TABLEs again would fail
        # ("table answers already exists") and be taken for damage, moving the file aside.
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number + 1}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def in_memory(seed: Path | None = None) -> Store:
    """A store that saves nothing, holding a copy of `seed`'s history when it can be read."""
    connection = _connect(":memory:")
    if seed is not None and seed.is_file():
        with contextlib.suppress(sqlite3.Error):
            # immutable: read a file in a read-only directory without its -shm
            source = sqlite3.connect(f"file:{seed}?immutable=1", uri=True)
            try:
                source.backup(connection)
            finally:
                source.close()
    try:
        _prepare(connection, on_disk=False)
    except (sqlite3.Error, Damaged, NewerDatabase):
        connection.close()
        connection = _connect(":memory:")
        _prepare(connection, on_disk=False)
    return Store(connection, None)


def _move_aside(path: Path, now: datetime) -> Path:
    """Rename the damaged file (and its WAL and shared-memory files); never delete them."""
    label = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{label}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{label}-{n}")
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(target.with_name(target.name + suffix))
    return target


def _writable(directory: Path) -> str | None:
    """None if the directory can hold the database, else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _("cannot create {directory}: {reason}").format(
            directory=directory, reason=exc.strerror
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        return _("{directory} is read-only").format(directory=directory)
    return None


def _not_a_file(path: Path) -> str | None:
    """Why what sits at `path` cannot be the database (None: a file, or nothing yet).

    Checked before SQLite opens it: opening a FIFO would wait forever for a writer.
    """
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            try:
                info = path.stat()
            except FileNotFoundError:
                return f"{path} is a link to {path.readlink()}, which does not exist"
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror}"
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file (a FIFO, socket or device)"
    return None


def open_store(directory: Path, now: datetime | None = None) -> Opened:
    """The progress store in `directory`, whatever state the directory and file are in."""
    now = now or datetime.now(UTC)
    path = directory / FILE_NAME
    problem = _writable(directory)
    if problem is not None:
        notice = _("Progress is not being saved: {problem}.").format(problem=problem)
        return Opened(in_memory(path), [notice])
    odd = _not_a_file(path)
    if odd is not None:
        return Opened(
            in_memory(),
            [
                _(
                    "Progress is not being saved: {odd}. "
                    "Move it away and gradquiz starts a new one."
                ).format(odd=odd)
            ],
        )
    connection = _connect(path)
    try:
        _prepare(connection, on_disk=True)
    except NewerDatabase as exc:
        connection.close()
        notice = _("Progress is not being saved: {file} was left untouched because {reason}.")
        return Opened(in_memory(), [notice.format(file=path, reason=exc)])
    except sqlite3.Error as exc:
        connection.close()
        if not damaged(exc):
            # Locked past the timeout, or unreadable: nothing says the file is broken, so it
            # is left exactly as it is.
            notice = _(
                "Progress is not being saved: {file} could not be opened ({reason}); it was "
                "left untouched."
            )
            return Opened(in_memory(), [notice.format(file=path, reason=exc)])
        return _fresh_after(Damaged(str(exc)), path, now)
    except Damaged as exc:
        connection.close()
        return _fresh_after(exc, path, now)
    store = Store(connection, path)
    backup_if_due(store, directory / BACKUPS, now)
    return Opened(store)


def _fresh_after(exc: Damaged, path: Path, now: datetime) -> Opened:
    """Move the damaged file aside (kept, never deleted) and start a fresh one in its place."""
    moved = _move_aside(path, now)
    connection = _connect(path)
    _prepare(connection, on_disk=True)
    notice = _(
        "Your progress file was damaged ({reason}); it was moved to {moved} and a fresh one "
        "started."
    )
    return Opened(Store(connection, path), [notice.format(reason=exc, moved=moved)])
