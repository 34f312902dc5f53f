"""`gradquiz lab [ID]`: the playground, a free experiment to edit, run and save as a question;
filled from question ID when one is named, a small example otherwise."""

from __future__ import annotations

import argparse
from typing import Any

from gradquiz.cli.app import need_terminal
from gradquiz.cli.common import ExitCode, UsageError, catalog, find
from gradquiz.display import one_line
from gradquiz.i18n import _


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
    from gradquiz.tui.screens.playground import PlaygroundApp, TrustAsked

    need_terminal("the playground")
    experiment, source, ask = playground.EXAMPLE, None, None
    if args.question_id is not None:
        cat = catalog(args)
        question = find(cat, args.question_id)
        if question.experiment is None:
            raise UsageError(f"question {question.id!r} has no experiment to start from")
        if not cat.trusted(question):
            # Asked in the app, with the dialog the quiz uses: its code fills the playground.
            ask = TrustAsked(cat, question.pack)
        experiment, source = playground.from_question(question), question.id
    app = PlaygroundApp(experiment, source, ask=ask)
    try:
        app.run()
    finally:
        app.lab.close()
    if app.refused and ask is not None:
        file = one_line(ask.pack.file)
        why = one_line(ask.policy.why_not(ask.pack))
        message = _(
            "{why}; nothing was shown or run (answer y when asked, or trust it with "
            "`gradquiz trust {file}`)"
        )
        raise UsageError(message.format(why=why, file=file))
    return app.return_code or ExitCode.OK
