"""The command line: the app by default, and the headless commands scripts rely on.

Each command is a module of this package with `register(commands, common)`: it adds its
parser (the common flags as a parent) and sets `handler`, which returns an `ExitCode`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from gradquiz import __version__, i18n, startup
from gradquiz.cli import (
    app,
    check,
    doctor,
    drill,
    export,
    lab,
    listing,
    new,
    reset,
    run,
    schema,
    serve,
    stats,
    trust,
    untrust,
)
from gradquiz.cli import packs as packs_command
from gradquiz.cli.common import ExitCode, UsageError, common_flags, language, merge_common
from gradquiz.i18n import _

__all__ = ["build_parser", "language", "main", "parse"]

# In the order `gradquiz --help` lists them.
COMMANDS = (
    listing,
    run,
    lab,
    check,
    doctor,
    schema,
    new,
    export,
    stats,
    drill,
    reset,
    packs_command,
    trust,
    untrust,
    serve,
)


class ExactParser(argparse.ArgumentParser):
    """No abbreviated flags: `list --question X` would otherwise be read as `--questions X`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(allow_abbrev=False, **options)


def build_parser() -> argparse.ArgumentParser:
    parser = ExactParser(
        prog="gradquiz",
        description=_(
            "Learn how PyTorch gradients really behave. Without a command, opens the app."
        ),
        parents=[common_flags(on_command=False)],
    )
    parser.add_argument("--version", action="version", version=f"gradquiz {__version__}")
    app.add_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ExactParser)
    on_command = common_flags(on_command=True)
    for command in COMMANDS:
        command.register(commands, on_command)
    parser.set_defaults(handler=app.handle)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    return merge_common(build_parser().parse_args(argv))


def _safe_streams() -> None:
    """Pack text the locale cannot encode (LANG=C without UTF-8, an ASCII terminal) is
    written as escapes, not lost to a UnicodeEncodeError halfway through the output."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _tell(message: str) -> None:
    """The one line that says why gradquiz stopped; stderr may be the closed pipe too."""
    with contextlib.suppress(OSError, ValueError):
        print(f"gradquiz: {message}", file=sys.stderr, flush=True)


def _lang_flag(argv: Sequence[str]) -> str | None:
    """`--lang` read ahead of the parser, whose help text is already in that language.
    The last one counts, as for the parser (after the command's name overrides before it)."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg.removeprefix("--lang=")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    _safe_streams()
    i18n.use(i18n.requested(_lang_flag(sys.argv[1:] if argv is None else argv)))
    try:
        args = parse(argv)
    except SystemExit as exc:  # --help, --version, or argparse's own usage error
        return int(exc.code or 0)
    i18n.use(language(args))  # the same choice, unless argparse read the line otherwise
    if not app.draws_a_screen(args):
        startup.resume()  # no screen to draw: start-up is over
    started = time.perf_counter()
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a closed stdout fails here, not in the interpreter's exit
    except UsageError as exc:
        print(f"gradquiz: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        seconds = time.perf_counter() - started
        print(
            "gradquiz: " + _("interrupted after {seconds:.1f} s").format(seconds=seconds),
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `gradquiz list | head`: the reader left before the output ended.
        _quiet_stdout()
        _tell(_("output closed early (broken pipe)"))
        return ExitCode.BROKEN_PIPE
    except OSError as exc:
        if exc.errno not in (errno.EBADF, errno.ENOSPC, errno.EIO):
            raise
        # `gradquiz list >&-`, a full disk or a vanished terminal under the output.
        _quiet_stdout()
        _tell(_("cannot write the output: {reason}").format(reason=exc.strerror))
        return ExitCode.PROBLEMS
    return int(code)
