"""`gradquiz stats [--json] [--export FILE] [--streak on|off]`: the learner's progress."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gradquiz.cli.common import (
    ExitCode,
    UsageError,
    catalog,
    check_output,
    json_text,
    opened_progress,
    warn,
    write_file,
)
from gradquiz.display import one_line, plural

EXPORT_FORMATS = {".csv": "csv", ".json": "json"}
BARS = " ▁▂▃▄▅▆▇█"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "stats", help="show your progress: answered, accuracy, what is due", parents=[common]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--export", metavar="FILE", help="write every answer ever given to FILE (.csv or .json)"
    )
    parser.add_argument(
        "--streak", choices=("on", "off"), help="show (or stop showing) a streak of days"
    )
    parser.set_defaults(handler=handle)


def bars(counts: list[int]) -> str:
    """A one-line plot: one block per day, as tall as that day's share of the busiest."""
    top = max(counts, default=0)
    if top == 0:
        return BARS[1] * len(counts)
    return "".join(BARS[max(1, round(8 * n / top)) if n else 1] for n in counts)


def print_stats(document: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from gradquiz.cli.common import console
    from gradquiz.progress.stats import TOPIC_COLUMNS, percent, topic_rows

    out = console()
    out.print(
        f"Answered {document['answered']}, correct {document['correct']} "
        f"({percent(document['accuracy'])}); seen {document['seen']} of "
        f"{plural(document['questions'], 'question')}."
    )
    if "streak" in document:
        out.print(f"Streak: {plural(document['streak'], 'day')} in a row.")
    out.print(f"Due now: {document['due_now']}; new today: {document['new_today']}.")
    week = document["due_next_7_days"]
    counts = [day["due"] for day in week]
    # On a line of its own, never folded: a bar cut in two no longer reads as a week.
    out.print(
        f"Due in the next {plural(len(week), 'day')} ({week[0]['date']} to {week[-1]['date']}): "
        f"{bars(counts)} {' '.join(map(str, counts))}",
        no_wrap=True,
        overflow="ignore",
        crop=False,
    )
    table = Table(title="By topic", box=None, title_justify="left")
    for column in TOPIC_COLUMNS:
        table.add_column(column, justify="left" if column == "topic" else "right")
    for row in topic_rows(document):
        table.add_row(*(Text(one_line(cell)) for cell in row))
    out.print(table)
    if document["most_missed"]:
        out.print("Most often missed:")
        for item in document["most_missed"]:
            line = (
                f"  {one_line(item['id'])}: wrong {item['wrong']} of {item['answered']} "
                f"({one_line(item['title'])})"
            )
            out.print(Text(line))
    if not document["saving"]:
        out.print("Progress is not being saved (see the notice above).")


def handle(args: argparse.Namespace) -> int:
    from gradquiz.progress.stats import STREAK_PREF, export, stats

    questions = catalog(args).library.questions
    if args.export is not None:
        if Path(args.export).suffix.lower() not in EXPORT_FORMATS:
            raise UsageError(f"{one_line(args.export)}: name the export file .csv or .json")
        check_output(args.export)
    progress = opened_progress()
    if args.streak is not None:
        if not progress.store.saving:
            warn("the streak setting was not changed: your progress file cannot be written")
            return ExitCode.PROBLEMS
        progress.store.set_pref(STREAK_PREF, args.streak)
        print(f"Streak {'shown' if args.streak == 'on' else 'hidden'}.", file=sys.stderr)
    if args.export is not None:
        answers = progress.store.answers()
        fmt = EXPORT_FORMATS[Path(args.export).suffix.lower()]
        write_file(args.export, export(answers, fmt))
        print(
            f"Wrote {plural(len(answers), 'answer')} to {one_line(args.export)}.", file=sys.stderr
        )
        return ExitCode.OK
    document = stats(progress, questions, datetime.now(UTC))
    if args.json:
        print(json_text(document))
    else:
        print_stats(document)
    return ExitCode.OK
