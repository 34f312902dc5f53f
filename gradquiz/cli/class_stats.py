"""`gradquiz stats --class DIR [--json]`: every learner's progress under DIR, added up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradquiz.cli.common import ExitCode, UsageError, catalog, json_text, language, warn
from gradquiz.display import one_line, plural
from gradquiz.i18n import _


def print_class(document: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from gradquiz.cli.common import console
    from gradquiz.progress.stats import percent

    out = console()
    line = _("{learners}, {answered} answers, {correct} correct ({accuracy}).")
    out.print(
        line.format(
            learners=plural(len(document["learners"]), "{n} learner", "{n} learners"),
            answered=document["answered"],
            correct=document["correct"],
            accuracy=percent(document["accuracy"]),
        )
    )
    tables: list[tuple[str, list[str], list[list[str]]]] = [
        (
            _("Learners"),
            [_("learner"), _("answered"), _("correct"), _("accuracy")],
            [
                [one_line(x["name"]), str(x["answered"]), str(x["correct"]), percent(x["accuracy"])]
                for x in document["learners"]
            ],
        ),
        (
            _("By topic"),
            [_("topic"), _("answered"), _("correct"), _("accuracy")],
            [
                [one_line(topic), str(t["answered"]), str(t["correct"]), percent(t["accuracy"])]
                for topic, t in document["by_topic"].items()
            ],
        ),
        (
            _("By question"),
            [_("question"), _("learners"), _("answered"), _("correct"), _("accuracy")],
            [
                [
                    one_line(qid),
                    str(q["learners"]),
                    str(q["answered"]),
                    str(q["correct"]),
                    percent(q["accuracy"]),
                ]
                for qid, q in document["by_question"].items()
            ],
        ),
    ]
    for title, columns, rows in tables:
        table = Table(title=title, box=None, title_justify="left")
        for n, column in enumerate(columns):
            table.add_column(column, justify="left" if n == 0 else "right")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        out.print(table)
    if document["most_missed"]:
        out.print(_("Most often missed:"))
        for item in document["most_missed"]:
            text = _(
                "{id}: wrong {wrong} of {answered} ({title}); most picked wrong: {pick} ({n}×)"
            )
            text = text.format(
                id=one_line(item["id"]),
                wrong=item["wrong"],
                answered=item["answered"],
                title=one_line(item["title"]),
                pick=one_line(item["most_picked_wrong"]),
                n=item["picked"],
            )
            out.print(Text("  " + text))


def handle(args: argparse.Namespace) -> int:
    from gradquiz.progress.classroom import class_stats

    if args.export is not None or args.streak is not None:
        raise UsageError(
            _("--class reads a class's progress: --export and --streak are a learner's")
        )
    directory = Path(args.class_dir)
    if not directory.is_dir():
        message = _("{directory}: no such directory")
        raise UsageError(message.format(directory=one_line(str(directory))))
    document = class_stats(directory, catalog(args).library.questions, language(args))
    for entry in document["unreadable"]:
        message = _("warning: {learner}'s progress could not be read: {reason}")
        warn(message.format(learner=one_line(entry["learner"]), reason=one_line(entry["reason"])))
    if args.json:
        print(json_text(document))
    else:
        print_class(document)
    return ExitCode.PROBLEMS if document["unreadable"] else ExitCode.OK
