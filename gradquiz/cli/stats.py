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
from gradquiz.i18n import _

EXPORT_FORMATS = {".csv": "csv", ".json": "json"}
BARS = " ▁▂▃▄▅▆▇█"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "stats", help=_("show your progress: answered, accuracy, what is due"), parents=[common]
    )
    parser.add_argument("--json", action="store_true", help=_("print one JSON object"))
    parser.add_argument(
        "--export",
        metavar="FILE",
        help=_("write every answer ever given to FILE (.csv or .json)"),
    )
    parser.add_argument(
        "--streak", choices=("on", "off"), help=_("show (or stop showing) a streak of days")
    )
    parser.add_argument(
        "--class",
        dest="class_dir",
        metavar="DIR",
        help=_("a class's progress: every learner under DIR (as `gradquiz serve` keeps them)"),
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
    from gradquiz.progress.leech import LEECH_MISSES
    from gradquiz.progress.stats import TOPIC_COLUMNS, percent, topic_rows

    out = console()
    answered = _("Answered {answered}, correct {correct} ({accuracy}); seen {seen} of {questions}.")
    out.print(
        answered.format(
            answered=document["answered"],
            correct=document["correct"],
            accuracy=percent(document["accuracy"]),
            seen=document["seen"],
            questions=plural(document["questions"], "{n} question", "{n} questions"),
        )
    )
    if "streak" in document:
        out.print(
            plural(document["streak"], "Streak: {n} day in a row.", "Streak: {n} days in a row.")
        )
    due = _("Due now: {due}; new today: {new}.")
    out.print(due.format(due=document["due_now"], new=document["new_today"]))
    week = document["due_next_7_days"]
    counts = [day["due"] for day in week]
    # On a line of its own, never folded: a bar cut in two no longer reads as a week.
    days = plural(
        len(week),
        "Due in the next {n} day ({first} to {last}):",
        "Due in the next {n} days ({first} to {last}):",
        first=week[0]["date"],
        last=week[-1]["date"],
    )
    out.print(
        f"{days} {bars(counts)} {' '.join(map(str, counts))}",
        no_wrap=True,
        overflow="ignore",
        crop=False,
    )
    table = Table(title=_("By topic"), box=None, title_justify="left")
    for column in TOPIC_COLUMNS:
        table.add_column(_(column), justify="left" if column == "topic" else "right")
    for row in topic_rows(document):
        table.add_row(*(Text(one_line(cell)) for cell in row))
    out.print(table)
    if document["most_missed"]:
        out.print(_("Most often missed:"))
        for item in document["most_missed"]:
            line = _("{id}: wrong {wrong} of {answered} ({title})").format(
                id=one_line(item["id"]),
                wrong=item["wrong"],
                answered=item["answered"],
                title=one_line(item["title"]),
            )
            flag = _(" · leech") if item["leech"] else ""
            out.print(Text("  " + line + flag))
    if document["leeches"]:
        out.print(
            plural(
                len(document["leeches"]),
                "{n} leech, missed {misses} times and left out of drills until you answer it "
                "right from a closer look in the app:",
                "{n} leeches, missed {misses} times and left out of drills until you answer "
                "them right from a closer look in the app:",
                misses=LEECH_MISSES,
            )
        )
        for item in document["leeches"]:
            line = _("{id}: wrong {wrong} times ({title})").format(
                id=one_line(item["id"]), wrong=item["wrong"], title=one_line(item["title"])
            )
            out.print(Text("  " + line))
    if not document["saving"]:
        out.print(_("Progress is not being saved (see the notice above)."))


def handle(args: argparse.Namespace) -> int:
    from gradquiz.progress.stats import STREAK_PREF, export, stats

    if args.class_dir is not None:
        from gradquiz.cli import class_stats

        return class_stats.handle(args)
    questions = catalog(args).library.questions
    if args.export is not None:
        if Path(args.export).suffix.lower() not in EXPORT_FORMATS:
            message = _("{file}: name the export file .csv or .json")
            raise UsageError(message.format(file=one_line(args.export)))
        check_output(args.export)
    progress = opened_progress()
    if args.streak is not None:
        if not progress.store.saving:
            warn(_("the streak setting was not changed: your progress file cannot be written"))
            return ExitCode.PROBLEMS
        progress.store.set_pref(STREAK_PREF, args.streak)
        print(_("Streak shown.") if args.streak == "on" else _("Streak hidden."), file=sys.stderr)
    if args.export is not None:
        answers = progress.store.answers()
        fmt = EXPORT_FORMATS[Path(args.export).suffix.lower()]
        write_file(args.export, export(answers, fmt))
        file = one_line(args.export)
        wrote = plural(
            len(answers), "Wrote {n} answer to {file}.", "Wrote {n} answers to {file}.", file=file
        )
        print(wrote, file=sys.stderr)
        return ExitCode.OK
    document = stats(progress, questions, datetime.now(UTC))
    if args.json:
        print(json_text(document))
    else:
        print_stats(document)
    return ExitCode.OK
