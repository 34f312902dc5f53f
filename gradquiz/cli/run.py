"""`gradquiz run QUESTION_ID [--json | --format F]`: a question's experiment, every variant."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode, UsageError, catalog, find, json_text, language
from gradquiz.display import one_line, printable


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "run", help="run a question's experiment and print its tables", parents=[common]
    )
    parser.add_argument("question_id", metavar="QUESTION_ID")
    parser.add_argument("--json", action="store_true", help="print one JSON object (--format json)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown", "csv"),
        default="text",
        help="text tables, the JSON object, markdown tables or tidy CSV",
    )
    parser.add_argument(
        "--draw",
        type=int,
        default=0,
        metavar="K",
        help="run draw K of a question with params (default 0: every parameter's first value)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from gradquiz.format.params import draw_count, for_run, values
    from gradquiz.lab.protocol import requests_for

    cat = catalog(args)
    question = find(cat, args.question_id)
    count = draw_count(question)
    if not 0 <= args.draw < count:
        draws = f"draws 0 to {count - 1}" if count > 1 else "only draw 0: it has no params"
        raise UsageError(f"question {question.id!r} has {draws}")
    question = for_run(question, args.draw)
    if not cat.trusted(question):
        file = one_line(question.pack.file)
        raise UsageError(
            f"{one_line(cat.why_not(question.pack))}; trust it with `gradquiz trust {file}`, "
            f"or name it with --questions {file} to run it this once"
        )
    requests = requests_for(question)
    if not requests:
        raise UsageError(f"question {question.id!r} has no experiment to run")
    with common.open_lab(min(len(requests), os.cpu_count() or 1)) as lab:
        results = {r.variant: r for r in lab.run_all(requests)}
        torch_version = lab.torch_version
    fmt = "json" if args.json else args.format
    if fmt == "text":
        from gradquiz.cli.report import print_run

        print_run(question, results, language(args))
    elif fmt == "json":
        from gradquiz.cli.share import run_document

        document = run_document(question, results, torch_version)
        if question.params:
            document["draw"] = args.draw
            document["params"] = values(question, args.draw)
        print(json_text(document, indent=None))
    else:
        from gradquiz.cli import share

        rendered = share.render_run(fmt, question, results, language(args))
        print(printable(rendered), end="")
    return ExitCode.OK
