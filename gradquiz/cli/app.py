"""`gradquiz` with no command: the terminal app (`--question ID` opens it at that question)."""

from __future__ import annotations

import argparse
import sys

from gradquiz.classroom.session import served
from gradquiz.cli.common import UsageError, find, first_catalog, language
from gradquiz.display import one_line
from gradquiz.i18n import _


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The app's own flag, on the program's parser only: no command takes it."""
    parser.add_argument("--question", metavar="ID", help=_("open the app at this question"))
    parser.add_argument(
        "--class",
        dest="instructor_class",
        metavar="DIR",
        help=_("the instructor's view of a class: every learner under DIR (`gradquiz serve`)"),
    )


def draws_a_screen(args: argparse.Namespace) -> bool:
    """Whether this run opens the app (start-up is then over once it has drawn)."""
    if args.handler is handle:
        return True
    # `drill` opens the app, unless it only lists what it would serve.
    return bool(getattr(args, "opens_app", False) and not getattr(args, "list", False))


def need_terminal(what: str) -> None:
    """`what` (translated) is what cannot start: the app, a drill."""
    if served():
        return  # a browser session: textual-serve's pipes are its terminal
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        message = _(
            "{what} needs a terminal (stdin and stdout are not one); "
            "`gradquiz list`, `run` and `check` work without"
        )
        raise UsageError(message.format(what=what))


def handle(args: argparse.Namespace) -> int:
    from gradquiz.tui.app import run_app

    need_terminal(_("the app"))
    if args.instructor_class is not None:
        return class_view(args)
    cat = first_catalog(args, args.question)  # the app reads the other files after its paint
    if args.question is not None:
        find(cat, args.question)
    return run_app(cat.library, cat, args.question, language(args))


def class_view(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gradquiz.cli.common import catalog
    from gradquiz.tui.class_stats import ClassStatsApp

    directory = Path(args.instructor_class)
    if not directory.is_dir():
        message = _("{directory}: no such directory")
        raise UsageError(message.format(directory=one_line(str(directory))))
    ClassStatsApp(directory, catalog(args).library.questions, language(args)).run()
    return 0
