"""`gradquiz trust PATH`: let a pack's code run (a file, or every pack under a directory),
until the file changes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradquiz import packs
from gradquiz.cli.common import ExitCode, UsageError, print_problems, warn
from gradquiz.display import one_line, plural
from gradquiz.format import load
from gradquiz.format.library import find_files
from gradquiz.i18n import _
from gradquiz.packs import PackSummary
from gradquiz.trust import TrustNotSaved, TrustStore


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "trust",
        help=_("let a pack's code run, until the file changes (file or directory)"),
        parents=[common],
    )
    parser.add_argument("path", metavar="PATH")
    parser.set_defaults(handler=handle)


def describe(summary: PackSummary) -> str:
    """One line a person can decide on: which pack, whose, and how much code it carries.

    The title and authors are the pack's own words: shown as written, on this one line.
    """
    title = f"“{summary.title}”" if summary.title else Path(summary.file).name
    authors = (
        _("by {authors}").format(authors=", ".join(summary.authors))
        if summary.authors
        else _("no authors given")
    )
    line = _("{title}, {authors}: {questions}, {snippets}").format(
        title=title,
        authors=authors,
        questions=plural(summary.questions, "{n} question", "{n} questions"),
        snippets=plural(summary.snippets, "{n} code snippet", "{n} code snippets"),
    )
    return one_line(line)


def pack_files(path: Path) -> list[Path]:
    if not path.exists():
        raise UsageError(_("{path}: no such file or directory").format(path=one_line(str(path))))
    files, problems = find_files([path])
    if problems:
        print_problems(problems)
    if not files:
        message = _("{path}: no *.yaml or *.yml files to trust")
        raise UsageError(message.format(path=one_line(str(path))))
    return files


def handle(args: argparse.Namespace) -> int:
    store = TrustStore.load()
    if store.problem is not None:
        warn(_("warning: {message}").format(message=one_line(store.problem)))
    code = ExitCode.OK
    for file in pack_files(Path(args.path)):
        # The file alone, so the problems are its own; trust covers the bytes just checked.
        library = load([file])
        pack = library.packs[0]
        if library.problems:
            print_problems(library.problems, to_stderr=False)
            not_trusted = plural(
                len(library.problems),
                "not trusted: {file} has {n} problem; fix them first "
                "(`gradquiz check` shows them too)",
                "not trusted: {file} has {n} problems; fix them first "
                "(`gradquiz check` shows them too)",
                file=one_line(str(file)),
            )
            warn(not_trusted)
            code = ExitCode.PROBLEMS
            continue
        summary = packs.summarize(pack, library.questions, "command line", "trusted")
        try:
            store.record(pack.file, pack.sha256)
        except TrustNotSaved as exc:
            message = _("{reason}; {file} is not trusted")
            warn(message.format(reason=one_line(str(exc)), file=one_line(str(file))))
            return ExitCode.PROBLEMS
        message = _("trusted {file} (sha256 {sha256})")
        print(
            message.format(file=one_line(str(Path(pack.file).resolve())), sha256=pack.sha256[:12])
        )
        print(f"  {describe(summary)}")
    return code
