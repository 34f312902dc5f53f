"""A separate gradquiz process that answers questions in a loop (for the two-writer and kill tests).

Usage: python -m tests.progress.writer HOME COUNT LABEL. Prints the number of answers committed,
one line per answer, flushed, so the parent knows what must have survived.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gradquiz.format import load
from gradquiz.locations import bundled_questions
from gradquiz.progress.drill import Progress
from gradquiz.progress.store import open_store


def main() -> None:
    home, count, label = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    questions = load([bundled_questions()]).questions[:5]
    progress = Progress(open_store(home).store)
    start = datetime(2026, 11, 22, 9, tzinfo=UTC)
    for n in range(count):
        question = questions[n % len(questions)]
        progress.record(
            question,
            response=f"{label}-{n}",
            correct=n % 3 != 0,
            seconds=5.0,
            torch="2.13.0",
            now=start + timedelta(seconds=n),
        )
        print(n + 1, flush=True)


if __name__ == "__main__":
    main()
