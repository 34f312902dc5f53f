"""`gradquiz run QUESTION_ID [--json | --format F]`: a question's experiment, every variant."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode, UsageError, catalog, find, json_text, language
from gradquiz.display import one_line, printable
from gradquiz.i18n import _


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "run", help=_("run a question's experiment and print its tables"), parents=[common]
    )
    parser.add_argument("question_id", metavar="QUESTION_ID")
    parser.add_argument(
        "--json", action="store_true", help=_("print one JSON object (--format json)")
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown", "csv"),
        default="text",
        help=_("text tables, the JSON object, markdown tables or tidy CSV"),
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from gradquiz.lab.protocol import requests_for

    cat = catalog(args)
    question = find(cat, args.question_id)
    if not cat.trusted(question):
        file = one_line(question.pack.file)
        message = _(
            "{why}; trust it with `gradquiz trust {file}`, "
            "or name it with --questions {file} to run it this once"
        )
        raise UsageError(message.format(why=one_line(cat.why_not(question.pack)), file=file))
    requests = requests_for(question)
    if not requests:
        message = _("question {id} has no experiment to run")
        raise UsageError(message.format(id=repr(question.id)))
    with common.open_lab(min(len(requests), os.cpu_count() or 1)) as lab:
        results = {r.variant: r for r in lab.run_all(requests)}
        torch_version = lab.torch_version
    fmt = "json" if args.json else args.format
    if fmt == "text":
        from gradquiz.cli.report import print_run

        print_run(question, results, language(args))
    elif fmt == "json":
        from gradquiz.cli.share import run_document

        print(json_text(run_document(question, results, torch_version), indent=None))
    else:
        from gradquiz.cli import share

        rendered = share.render_run(fmt, question, results, language(args))
        print(printable(rendered), end="")
    return ExitCode.OK
