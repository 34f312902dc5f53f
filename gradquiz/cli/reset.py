"""`gradquiz reset ID... | --all [--yes]`: forget the progress of some questions, or all."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gradquiz.cli.common import ExitCode, UsageError, catalog, opened_progress, warn
from gradquiz.display import one_line, plural
from gradquiz.i18n import _


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "reset", help=_("forget the progress of some questions, or all"), parents=[common]
    )
    parser.add_argument("ids", nargs="*", metavar="QUESTION_ID")
    parser.add_argument("--all", action="store_true", help=_("forget everything"))
    parser.add_argument("--yes", action="store_true", help=_("do not ask for confirmation"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if not args.all and not args.ids:
        raise UsageError(_("name the questions to reset, or --all"))
    if args.all and args.ids:
        raise UsageError(_("give question ids or --all, not both"))
    known = {q.id for q in catalog(args).library.questions}
    progress = opened_progress()
    if not progress.store.saving:
        # The notice above says why; an in-memory store has nothing of the learner's to forget.
        warn(_("nothing was reset: your progress file cannot be written"))
        return ExitCode.PROBLEMS
    from gradquiz.progress.history import history

    answered = history(progress.store).by_question
    for qid in args.ids:
        if qid not in known and qid not in answered:
            raise UsageError(_("no question with id {id}").format(id=one_line(repr(qid))))
    what = _("all your progress") if args.all else one_line(", ".join(args.ids))
    if not args.yes:
        if not sys.stdin.isatty():
            message = _("resetting {what} needs --yes when not run in a terminal")
            raise UsageError(message.format(what=what))
        question = _("Forget {what}? This cannot be undone. Type 'yes' to go on: ")
        reply = input(question.format(what=what))
        # "yes" in any language: the word the prompt asks for, or the English one.
        if reply.strip().lower() not in ("yes", _("yes")):
            print(_("Nothing was reset."), file=sys.stderr)
            return ExitCode.PROBLEMS
    import sqlite3

    try:
        gone = progress.store.reset(None if args.all else args.ids)
    except (sqlite3.Error, OSError) as exc:
        warn(
            _("nothing was reset: the progress file could not be changed ({reason})").format(
                reason=exc
            )
        )
        return ExitCode.PROBLEMS
    print(plural(gone, "Forgot {n} answer.", "Forgot {n} answers."), file=sys.stderr)
    return ExitCode.OK
