"""Years of history: `gradquiz stats --json` and `drill --list` over 98 and 100,000 answers.

The history is written straight into a progress file (what years of drilling would leave:
every bundled question answered again and again, a card for each), then each command runs in
its own process, as a learner runs it.
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Card

from gradquiz import locations
from gradquiz.format import load
from gradquiz.progress.drill import content_hash
from gradquiz.progress.store import FILE_NAME, open_store, stamp

COMMANDS = (("stats", "--json"), ("drill", "--list"))
GOAL_SECONDS = 0.3


def fill(home: Path, answers: int, now: datetime) -> None:
    """`answers` answers spread over the bundled questions and the last three years."""
    questions = load([locations.bundled_questions()]).questions
    open_store(home).store.close()  # creates the file and its schema
    span = timedelta(days=3 * 365)
    rows = []
    for n in range(answers):
        q = questions[n % len(questions)]
        at = now - span + span * (n / answers)
        rows.append((q.id, content_hash(q), q.topic, stamp(at), '"A"', int(n % 4 != 0), 12.5))
    # One bulk transaction on the file itself: a learner's answers, not how they were saved.
    with sqlite3.connect(home / FILE_NAME) as db:
        db.executemany(
            "INSERT INTO answers (question, content_hash, topic, answered_at, response, "
            "correct, seconds, torch, rating) VALUES (?, ?, ?, ?, ?, ?, ?, '2.13.0', 3)",
            rows,
        )
        for index, q in enumerate(questions[: min(answers, len(questions))]):
            due = now + timedelta(hours=index - 40)
            db.execute(
                "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, NULL)",
                (q.id, content_hash(q), Card(due=due).to_json(), stamp(due)),
            )
    db.close()


def seconds(home: Path, command: tuple[str, ...], repeats: int) -> float:
    env = {"GRADQUIZ_HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gradquiz", *command],
            check=True,
            capture_output=True,
            env=env,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(root: Path, repeats: int = 5) -> dict[tuple[str, int], float]:
    now = datetime.now(UTC)
    found = {}
    for answers in (98, 100_000):
        home = root / f"history-{answers}"
        fill(home, answers, now)
        for command in COMMANDS:
            # A first run writes the parse cache, as any earlier start would have.
            seconds(home, command, 1)
            found[(" ".join(command), answers)] = seconds(home, command, repeats)
    return found


def report(root: Path) -> None:
    found = measure(root)
    print("(g) years of history: each command in its own process (median of 5)")
    for command in COMMANDS:
        name = " ".join(command)
        small, large = found[(name, 98)], found[(name, 100_000)]
        print(
            f"  gradquiz {name:<14} 98 answers {small:6.2f} s   100,000 answers {large:6.2f} s"
            f"   (goal: under {GOAL_SECONDS:g} s)"
        )
