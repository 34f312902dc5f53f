"""The learner's commands: stats, drill and reset."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gradquiz.cli.main import UsageError
from gradquiz.format import Question
from gradquiz.progress import open_progress
from gradquiz.progress.drill import Progress
from gradquiz.progress.stats import (
    STREAK_PREF,
    TOPIC_COLUMNS,
    export,
    percent,
    stats,
    topic_rows,
)

EXPORT_FORMATS = {".csv": "csv", ".json": "json"}
BARS = " ▁▂▃▄▅▆▇█"


def opened() -> Progress:
    progress, notices = open_progress()
    for notice in notices:
        print(f"gradquiz: {notice}", file=sys.stderr)
    return progress


def bars(counts: list[int]) -> str:
    """A one-line plot: one block per day, as tall as that day's share of the busiest."""
    top = max(counts, default=0)
    if top == 0:
        return BARS[1] * len(counts)
    return "".join(BARS[max(1, round(8 * n / top)) if n else 1] for n in counts)


def print_stats(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()

    console.print(
        f"Answered {document['answered']}, correct {document['correct']} "
        f"({percent(document['accuracy'])}); seen {document['seen']} of "
        f"{document['questions']} questions."
    )
    if "streak" in document:
        console.print(f"Streak: {document['streak']} day(s) in a row.")
    week = document["due_next_7_days"]
    counts = [day["due"] for day in week]
    console.print(
        f"Due now: {document['due_now']}; new today: {document['new_today']}. "
        f"Next days ({week[0]['date']} to {week[-1]['date']}): {bars(counts)} "
        f"{' '.join(map(str, counts))}"
    )
    table = Table(title="By topic", box=None, title_justify="left")
    for column in TOPIC_COLUMNS:
        table.add_column(column, justify="left" if column == "topic" else "right")
    for row in topic_rows(document):
        table.add_row(*row)
    console.print(table)
    if document["most_missed"]:
        console.print("Most often missed:")
        for item in document["most_missed"]:
            console.print(
                f"  {item['id']}: wrong {item['wrong']} of {item['answered']} ({item['title']})"
            )
    if not document["saving"]:
        console.print("Progress is not being saved (see the notice above).")


def cmd_stats(args: argparse.Namespace, questions: list[Question]) -> int:
    progress = opened()
    if args.streak is not None:
        progress.store.set_pref(STREAK_PREF, args.streak)
        print(f"Streak {'shown' if args.streak == 'on' else 'hidden'}.", file=sys.stderr)
    if args.export is not None:
        target = Path(args.export)
        fmt = EXPORT_FORMATS.get(target.suffix.lower())
        if fmt is None:
            raise UsageError(f"{target}: name the export file .csv or .json")
        answers = progress.store.answers()
        target.write_text(export(answers, fmt), encoding="utf-8")
        print(f"Wrote {len(answers)} answer(s) to {target}.", file=sys.stderr)
        return 0
    document = stats(progress, questions, datetime.now(UTC))
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print_stats(document)
    return 0


def drill_queue(
    args: argparse.Namespace, progress: Progress, questions: list[Question]
) -> list[Question]:
    topics = sorted({q.topic for q in questions})
    if args.topic is not None and args.topic not in topics:
        raise UsageError(f"no topic {args.topic!r}; the topics are: {', '.join(topics)}")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    return progress.queue(
        questions,
        datetime.now(UTC),
        topic=args.topic,
        limit=args.limit,
        mistakes=args.mistakes,
    )


def print_queue(progress: Progress, queue: list[Question], lang: str | None) -> None:
    seen = {a.question for a in progress.store.answers()}
    for q in queue:
        print(f"{q.id}\t{'review' if q.id in seen else 'new'}\t{q.topic}\t{q.title.get(lang)}")
    print(f"{len(queue)} question(s) to drill.", file=sys.stderr)


def cmd_reset(args: argparse.Namespace, questions: list[Question]) -> int:
    if not args.all and not args.ids:
        raise UsageError("name the questions to reset, or --all")
    if args.all and args.ids:
        raise UsageError("give question ids or --all, not both")
    known = {q.id for q in questions}
    progress = opened()
    answered = {a.question for a in progress.store.answers()}
    for qid in args.ids:
        if qid not in known and qid not in answered:
            raise UsageError(f"no question with id {qid!r}")
    what = "all your progress" if args.all else ", ".join(args.ids)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"resetting {what} needs --yes when not run in a terminal")
        reply = input(f"Forget {what}? This cannot be undone. Type 'yes' to go on: ")
        if reply.strip().lower() != "yes":
            print("Nothing was reset.", file=sys.stderr)
            return 1
    gone = progress.store.reset(None if args.all else args.ids)
    print(f"Forgot {gone} answer(s).", file=sys.stderr)
    return 0
