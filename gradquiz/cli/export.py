"""`gradquiz export PATH`: a markdown handout of a whole pack, every experiment run for real."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode, print_problems, write_file
from gradquiz.display import printable
from gradquiz.format import Library, Question

if TYPE_CHECKING:
    from gradquiz.lab.protocol import VariantResult


def _progress(total: int) -> Any:
    """Progress on stderr for a person at a terminal; a pipe or CI log gets nothing."""
    if not sys.stderr.isatty() or total == 0:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "exporting",
        BarColumn(),
        MofNCompleteColumn(),
        "runs",
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def run_pack(
    questions: list[Question], workers: int | None = None
) -> dict[str, dict[str, VariantResult]]:
    """Every variant of every question, by question id then variant id."""
    from gradquiz.lab.protocol import requests_for

    requests = [r for q in questions for r in requests_for(q)]
    runs: dict[str, dict[str, VariantResult]] = {q.id: {} for q in questions}
    if not requests:
        return runs
    torchvision = any(r.uses_torchvision for r in requests)
    size = min(workers or os.cpu_count() or 1, len(requests))
    with _progress(len(requests)) as progress, common.open_lab(size, torchvision) as lab:
        task = progress.add_task("export", total=len(requests)) if progress else None

        def advance(_: VariantResult) -> None:
            if progress is not None:
                progress.advance(task)

        for result in lab.run_all(requests, on_result=advance):
            runs[result.question][result.variant] = result
    return runs


def handout(library: Library, runs: dict[str, dict[str, VariantResult]], lang: str | None) -> str:
    from gradquiz.cli.share import question_markdown
    from gradquiz.format.params import for_run

    parts = []
    packs = {q.pack.file: q.pack for q in library.questions}
    for pack in packs.values():
        head = [f"# {pack.title.get(lang) if pack.title else Path(pack.file).stem}", ""]
        if pack.description is not None:
            head += [pack.description.get(lang).strip(), ""]
        if pack.authors:
            head += ["By " + ", ".join(pack.authors) + ".", ""]
        parts.append("\n".join(head))
        for question in (q for q in library.questions if q.pack.file == pack.file):
            # A handout shows draw 0, the draw the runs ran: its numbers in every text.
            shown = for_run(question, 0) if question.params else question
            parts.append(question_markdown(shown, runs.get(question.id), lang))
    return "\n".join(parts)


def command(
    library: Library,
    trusted: Callable[[Question], bool],
    fmt: str,
    output: str | None,
    lang: str | None,
) -> int:
    """Refuses a pack with problems: a handout must not teach from a broken file."""
    if library.problems:
        print_problems(library.problems)
        print("gradquiz: fix these first (see gradquiz check)", file=sys.stderr)
        return ExitCode.PROBLEMS
    # The PATH was named on the command line, so it is trusted; the check stays for safety.
    runs = run_pack([q for q in library.questions if trusted(q)])
    # A handout is read in a terminal or an editor: no control character of the pack's in it.
    text = printable(handout(library, runs, lang))
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text)
    return ExitCode.OK


def register(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "export", help="write a handout of a pack, experiments run", parents=[parent]
    )
    parser.add_argument("path", metavar="PATH", help="the pack file (its code runs)")
    parser.add_argument("--format", choices=("markdown",), default="markdown")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    common.check_output(args.output)
    cat = common.catalog(args, [args.path])
    return command(cat.library, cat.trusted, args.format, args.output, common.language(args))
