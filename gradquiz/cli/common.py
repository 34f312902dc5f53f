"""What every command shares: exit codes, the common flags, the catalog, safe output, the lab.

Text from a pack is hostile: everything a command prints of it goes through
`gradquiz.display.one_line` or `printable`, and through Rich only as `Text` (never markup).
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradquiz import i18n, packs
from gradquiz.display import one_line, plural
from gradquiz.format import Problem, Question
from gradquiz.i18n import _
from gradquiz.packs import Catalog

if TYPE_CHECKING:
    from rich.console import Console

    from gradquiz.lab.client import Lab
    from gradquiz.progress.drill import Progress


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1
    USAGE = 2
    INTERRUPTED = 130
    # What a shell reports for a program killed by SIGPIPE: the reader left.
    BROKEN_PIPE = 141


class UsageError(Exception):
    """The command cannot do what was asked; the message says why (exit 2)."""


# The common flags: `--questions` and `--no-bundled` work with every command, before or after
# its name (the format's contract); `--lang` too. A command's copy writes to its own dests
# (`COMMAND_PREFIX`), so a flag after the command adds to, or overrides, one before it.
COMMAND_PREFIX = "command_"


def common_flags(on_command: bool) -> argparse.ArgumentParser:
    """The parent parser of the common flags: the program's, or (on_command) a command's."""
    parent = argparse.ArgumentParser(add_help=False)
    prefix = COMMAND_PREFIX if on_command else ""

    def default(value: Any) -> Any:
        # Unset on a command: the program's value (before the command's name) stands.
        return argparse.SUPPRESS if on_command else value

    parent.add_argument(
        "--questions",
        dest=prefix + "questions",
        action="append",
        default=default([]),
        metavar="PATH",
        help=_("add the packs in a file or directory (repeatable); their code is trusted"),
    )
    parent.add_argument(
        "--no-bundled",
        dest=prefix + "no_bundled",
        action="store_true",
        default=default(False),
        help=_("do not load the packs that come with gradquiz"),
    )
    parent.add_argument(
        "--lang",
        dest=prefix + "lang",
        default=default(None),
        metavar="CODE",
        help=_("language of questions and messages, e.g. en or zh (default: from LANG)"),
    )
    return parent


def merge_common(args: argparse.Namespace) -> argparse.Namespace:
    """Fold the flags given after the command's name into those given before it."""
    args.questions = [*args.questions, *vars(args).pop(COMMAND_PREFIX + "questions", [])]
    for name in ("no_bundled", "lang"):
        if COMMAND_PREFIX + name in vars(args):
            setattr(args, name, vars(args).pop(COMMAND_PREFIX + name))
    return args


def named_paths(args: argparse.Namespace, paths: Sequence[str]) -> list[Path]:
    named = [Path(p) for p in (*paths, *args.questions)]
    for path in named:
        if not path.exists() and not path.is_symlink():
            raise UsageError(
                _("{path}: no such file or directory").format(path=one_line(str(path)))
            )
    return named


def catalog(args: argparse.Namespace, paths: Sequence[str] = ()) -> Catalog:
    """Every pack the arguments name. Explicit paths are trusted; GRADQUIZ_PATH's and the
    settings file's run once the learner trusts them (`gradquiz trust`). `check PATH...` and
    `export PATH` read those paths alone, as their contract says."""
    loaded = packs.discover(
        named_paths(args, paths), bundled=not args.no_bundled and not paths, configured=not paths
    )
    warn_store(loaded)
    return loaded


def first_catalog(args: argparse.Namespace, question_id: str | None) -> Catalog:
    """Only the files up to the one holding `question_id` (any question, if None): what the
    app needs to draw its first question; it reads the rest after that."""
    loaded = packs.discover_first(named_paths(args, ()), question_id, bundled=not args.no_bundled)
    warn_store(loaded)
    return loaded


def warn_store(loaded: Catalog) -> None:
    if loaded.store.problem is not None:
        warn(_("warning: {message}").format(message=one_line(loaded.store.problem)))


def find(cat: Catalog, question_id: str) -> Question:
    question = cat.library.get(question_id)
    if question is None:
        import difflib

        ids = [q.id for q in cat.library.questions]
        close = difflib.get_close_matches(question_id, ids, n=3)
        shown = one_line(repr(question_id))
        if close:
            message = _("no question with id {id}; did you mean {ids}?")
            raise UsageError(message.format(id=shown, ids=", ".join(close)))
        raise UsageError(_("no question with id {id}").format(id=shown))
    return question


def language(args: argparse.Namespace) -> str | None:
    """The language of question text; the interface's own words follow the same choice."""
    return i18n.requested(args.lang)


def json_text(document: object, indent: int | None = 2) -> str:
    """JSON for stdout: UTF-8 as written, or escaped to ASCII where stdout cannot encode it.

    Either way control characters are escaped (JSON requires it), so none reaches a terminal.
    """
    import json

    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return json.dumps(document, ensure_ascii=encoding != "utf8", indent=indent)


def warn(text: str) -> None:
    """A line for the person, on stderr: `gradquiz: text`."""
    print(f"gradquiz: {text}", file=sys.stderr)


def print_problems(problems: Sequence[Problem], to_stderr: bool = True) -> None:
    """Located problems, one line each, whatever their messages quote from the pack."""
    stream = sys.stderr if to_stderr else sys.stdout
    for problem in problems:
        print(one_line(str(problem)), file=stream)


def report_load_problems(problems: Sequence[Problem]) -> None:
    if problems:
        counted = plural(len(problems), "{n} problem while loading:", "{n} problems while loading:")
        print(counted, file=sys.stderr)
        print_problems(problems)


def console(pipe_width: int | None = 10_000) -> Console:
    """Rich for stdout: the terminal's width; in a pipe `pipe_width` (None: Rich's 80), by
    default no wrapping at all, for grep and less."""
    from rich.console import Console

    class Output(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit with 1 and no word; `main` says what happened, and exits 141.
            self.quiet = True
            raise BrokenPipeError

    return Output(width=None if sys.stdout.isatty() else pipe_width, highlight=False)


def check_output(output: str | None) -> None:
    """Fail before the work, not after it, when FILE's directory is missing."""
    if output is not None and not Path(output).absolute().parent.is_dir():
        parent = one_line(str(Path(output).parent))
        message = _("cannot write {file}: no directory {directory}")
        raise UsageError(message.format(file=one_line(output), directory=parent))


def write_file(output: str, text: str) -> None:
    """`-o FILE`, `--export FILE`: a missing directory or a read-only one is a usage error."""
    path = Path(output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        message = _("cannot write {file}: {reason}")
        raise UsageError(
            message.format(file=one_line(output), reason=exc.strerror or exc)
        ) from None


# Descriptors a lab server costs this process: two pipes, both ends until the worker starts.
DESCRIPTORS_PER_WORKER = 4
# Left for everything else: the terminal, files being read, sqlite, the import machinery.
DESCRIPTORS_SPARE = 64


def check_workers(workers: int | None) -> None:
    """Refuse, before anything starts, a worker count the open-file limit cannot hold."""
    if workers is None:
        return
    if workers < 1:
        raise UsageError(_("--workers must be at least 1, not {n}").format(n=workers))
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    most = (soft - DESCRIPTORS_SPARE) // DESCRIPTORS_PER_WORKER
    if soft != resource.RLIM_INFINITY and workers > most:
        message = _(
            "--workers {n} needs more open files than the limit allows ({limit}); "
            "use at most {most}, or raise the limit with `ulimit -n`"
        )
        raise UsageError(message.format(n=workers, limit=soft, most=max(1, most)))


@contextmanager
def open_lab(size: int, torchvision: bool | None = False) -> Iterator[Lab]:
    """A lab of `size` workers for one command (`torchvision`: see Lab); tests replace this
    with their warm lab."""
    from gradquiz.lab.client import Lab

    try:
        lab = Lab(size, torchvision)
    except OSError as exc:
        workers = plural(size, "{n} worker", "{n} workers")
        message = _("cannot start {workers}: {reason}")
        raise UsageError(message.format(workers=workers, reason=exc.strerror or exc)) from None
    try:
        yield lab
    finally:
        # The command ends here: idle workers clean up and exit on their own.
        lab.close(wait=False)


def opened_progress() -> Progress:
    """The learner's progress; what they should be told about it goes to stderr."""
    from gradquiz.progress import open_progress

    progress, notices = open_progress()
    for notice in notices:
        warn(one_line(notice))
    return progress
