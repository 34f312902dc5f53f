"""`gradquiz lab [ID]`: the playground, a free experiment to edit, run and save as a question;
filled from question ID when one is named, a small example otherwise."""

from __future__ import annotations

import argparse
from typing import Any

from gradquiz.cli.app import need_terminal
from gradquiz.cli.common import ExitCode, UsageError, catalog, find
from gradquiz.display import one_line


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "lab",
        help="open the playground: edit an experiment, run it, save it as a question",
        parents=[common],
    )
    parser.add_argument(
        "question_id", metavar="ID", nargs="?", help="fill it from this question's experiment"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from gradquiz import playground
    from gradquiz.tui.screens.playground import PlaygroundApp

    need_terminal("the playground")
    experiment, source = playground.EXAMPLE, None
    if args.question_id is not None:
        cat = catalog(args)
        question = find(cat, args.question_id)
        if question.experiment is None:
            raise UsageError(f"question {question.id!r} has no experiment to start from")
        if not cat.trusted(question):
            file = one_line(question.pack.file)
            why = one_line(cat.why_not(question.pack))
            raise UsageError(f"{why}; trust it with `gradquiz trust {file}` to run its code")
        experiment, source = playground.from_question(question), question.id
    app = PlaygroundApp(experiment, source)
    try:
        app.run()
    finally:
        app.lab.close()
    return app.return_code or ExitCode.OK
