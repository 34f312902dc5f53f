"""`gradquiz serve`: the app in a browser for a classroom, each learner under their own name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gradquiz.cli.common import ExitCode, UsageError, named_paths, warn
from gradquiz.i18n import _
from gradquiz.locations import home

DEFAULT_PORT = 8000
# Each session is an app and a lab worker: about 155 MiB of memory of its own (PSS; 570 MiB
# RSS, most of it torch's pages shared between sessions), and the CPU its experiments use.
DEFAULT_MAX_SESSIONS = 20


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "serve",
        help=_("serve the app in a browser, one session per learner"),
        parents=[common],
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=_("address to listen on (default 127.0.0.1: this machine only)"),
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=_("default 8000"))
    parser.add_argument(
        "--sessions",
        metavar="DIR",
        help=_(
            "where each learner's progress is kept, DIR/<name>/ (default: GRADQUIZ_HOME/classroom)"
        ),
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=_(
            "at most N browser sessions at once (default 20; each runs its own app and lab worker)"
        ),
    )
    parser.add_argument("--question", metavar="ID", help=_("open every session at this question"))
    parser.add_argument(
        "--allow-editing",
        action="store_true",
        help=_("let learners edit and run code in the lab (it runs on this machine)"),
    )
    parser.set_defaults(handler=handle)


def session_command(args: argparse.Namespace) -> list[str]:
    """The app's command line for every session: the packs by absolute path, since a
    session's GRADQUIZ_HOME is not the instructor's."""
    command = [sys.executable, "-m", "gradquiz"]
    for path in named_paths(args, ()):
        command += ["--questions", str(path.resolve())]
    if args.no_bundled:
        command.append("--no-bundled")
    if args.lang is not None:
        command += ["--lang", args.lang]
    if args.question is not None:
        command += ["--question", args.question]
    return command


def handle(args: argparse.Namespace) -> int:
    from gradquiz.classroom.serve import LOOPBACK, Classroom, serve

    if args.max_sessions < 1:
        raise UsageError(_("--max-sessions must be at least 1"))
    if not 0 < args.port < 65536:
        raise UsageError(_("--port must be between 1 and 65535"))
    sessions = Path(args.sessions) if args.sessions is not None else home() / "classroom"
    if args.host not in LOOPBACK:
        warn(
            _(
                "warning: serving on {host}: anyone who can reach this address can use "
                "gradquiz here{code}"
            ).format(
                host=args.host,
                code=_(", and run code on this machine") if args.allow_editing else "",
            )
        )
    classroom = Classroom(
        sessions.resolve(),
        session_command(args),
        max_sessions=args.max_sessions,
        allow_editing=args.allow_editing,
    )
    print(
        _(
            "Serving gradquiz on http://{host}:{port}/ (learners in {sessions}); Ctrl+C stops."
        ).format(host=args.host, port=args.port, sessions=classroom.sessions),
        file=sys.stderr,
        flush=True,
    )
    try:
        serve(classroom, args.host, args.port)
    except OSError as exc:  # the port is taken, the address is not this machine's
        message = _("cannot listen on {host}:{port}: {reason}")
        raise UsageError(
            message.format(host=args.host, port=args.port, reason=exc.strerror or exc)
        ) from exc
    return ExitCode.OK
