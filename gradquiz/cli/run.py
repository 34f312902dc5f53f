"""`gradquiz run QUESTION_ID [--json | --format F]`: a question's experiment, every variant."""

from __future__ import annotations

import argparse
import os
from typing import Any

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode, UsageError, catalog, find, json_text, language
from gradquiz.display import one_line, printable
from gradquiz.format import Question
from gradquiz.grading import Results
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
        choices=("text", "json", "markdown", "csv", "dot"),
        default="text",
        help=_(
            "text tables, the JSON object, markdown tables, tidy CSV, or Graphviz DOT of "
            "each variant's autograd graph"
        ),
    )
    parser.add_argument(
        "--compare",
        metavar="COLUMN",
        help="print one watch column across every variant, the right one first",
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
    if args.compare is not None:
        if fmt == "dot":
            raise UsageError(_("--compare prints a column, not a graph: leave out --format dot"))
        return compare(args, question, results, fmt)
    if fmt == "dot":
        from gradquiz.graphs import dot, graph_at

        for result in results.values():
            print(dot(result.variant, graph_at(result, None)), end="")
    elif fmt == "text":
        from gradquiz.cli.report import print_run

        print_run(question, results, language(args))
    elif fmt == "json":
        from gradquiz.cli.share import run_document

        document = run_document(question, results, torch_version, language(args))
        if question.params:
            document["draw"] = args.draw
            document["params"] = values(question, args.draw)
        print(json_text(document, indent=None))
    else:
        from gradquiz.cli import share

        rendered = share.render_run(fmt, question, results, language(args))
        print(printable(rendered), end="")
    return ExitCode.OK


def compare(args: argparse.Namespace, question: Question, results: Results, fmt: str) -> int:
    """`run ID --compare COLUMN`: one column across the variants, in any format."""
    from gradquiz.cli import share
    from gradquiz.variants import comparable_columns, compare_column, headings

    columns = comparable_columns(results)
    if args.compare not in columns:
        known = ", ".join(one_line(repr(c)) for c in columns) or "none"
        raise UsageError(f"no watch column {one_line(repr(args.compare))}; the columns are {known}")
    comparison = compare_column(question, results, args.compare)
    found = headings(question, results, language=language(args))
    if fmt == "text":
        from gradquiz.cli.report import print_comparison

        print_comparison(question, comparison, found)
    elif fmt == "json":
        print(json_text(share.comparison_document(question, comparison, found), indent=None))
    elif fmt == "csv":
        print(printable(share.comparison_csv(comparison)), end="")
    else:
        print(printable(share.comparison_markdown(question, comparison, found)), end="")
    return ExitCode.OK
