"""`gradquiz export PATH`: a whole pack, every experiment run for real, as a markdown handout
(the default), a Jupyter notebook (`--format ipynb`) or Moodle XML (`--format moodle`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode, UsageError, print_problems, write_file
from gradquiz.display import one_line, printable
from gradquiz.format import Library, Question
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.lab.protocol import VariantResult


def _progress(total: int) -> Any:
    """Progress on stderr for a person at a terminal; a pipe or CI log gets nothing."""
    if not sys.stderr.isatty() or total == 0:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        _("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        _("runs"),
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

        def advance(_result: VariantResult) -> None:
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
            head += [_("By {authors}.").format(authors=", ".join(pack.authors)), ""]
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
    *,
    execute: bool = False,
    ordering: bool = True,
) -> int:
    """Refuses a pack with problems: a handout must not teach from a broken file."""
    if library.problems:
        print_problems(library.problems)
        print("gradquiz: " + _("fix these first (see gradquiz check)"), file=sys.stderr)
        return ExitCode.PROBLEMS
    # The PATH was named on the command line, so it is trusted; the check stays for safety.
    runs = run_pack([q for q in library.questions if trusted(q)])
    if fmt == "ipynb":
        text = _notebook(library, runs, lang, execute)
    elif fmt == "moodle":
        text = _moodle(library, runs, lang, ordering)
    else:
        # A handout is read in a terminal or an editor: no control character of the pack's in it.
        text = printable(handout(library, runs, lang))
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text)
    return ExitCode.OK


def _notebook(
    library: Library, runs: dict[str, dict[str, VariantResult]], lang: str | None, execute: bool
) -> str:
    from gradquiz.classroom import notebook

    nb = notebook.notebook(library, runs, lang)
    if execute:
        timeouts = [q.experiment.timeout for q in library.questions if q.experiment is not None]
        # The first cell imports torch in a cold kernel: allow for that beyond the runs' own.
        timeout = 2 * max(timeouts, default=10.0) + 120
        try:
            notebook.execute(nb, timeout)
        except ModuleNotFoundError as exc:
            raise UsageError(
                f"--execute needs {exc.name}: pip install 'gradquiz[notebook]'"
            ) from None
        except Exception as exc:  # nbclient: no kernel, a dead kernel, a cell that failed
            message = one_line(str(exc).strip().splitlines()[-1] if str(exc).strip() else "")
            raise UsageError(f"the notebook did not run: {type(exc).__name__}: {message}") from None
    return notebook.dumps(nb)


def _moodle(
    library: Library, runs: dict[str, dict[str, VariantResult]], lang: str | None, ordering: bool
) -> str:
    from gradquiz.classroom import moodle

    result = moodle.export(library, runs, lang, ordering_plugin=ordering)
    for skip in result.skipped:
        common.warn(f"skipped {one_line(skip.question)}: {one_line(skip.reason)}")
    if any(q.type == "order" for q in library.questions) and ordering:
        common.warn(
            "order questions are written as `ordering`: Moodle's qtype_ordering must be there "
            "to import them (--no-ordering leaves them out)"
        )
    return result.xml


def register(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "export",
        help="write a pack as a handout, a notebook or Moodle XML, experiments run",
        parents=[parent],
        epilog="Moodle: order questions become `ordering` questions, which import only where "
        "Moodle has the qtype_ordering question type (a plugin before Moodle 4.4); "
        "--no-ordering leaves them out, with a notice.",
    )
    parser.add_argument("path", metavar="PATH", help="the pack file (its code runs)")
    parser.add_argument(
        "--format",
        choices=("markdown", "ipynb", "moodle"),
        default="markdown",
        help="a markdown handout (default), a Jupyter notebook, or Moodle XML questions",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    parser.add_argument(
        "--execute",
        action="store_true",
        help="ipynb: run the notebook in a fresh kernel so its outputs ship with it "
        "(needs gradquiz[notebook])",
    )
    parser.add_argument(
        "--no-ordering",
        dest="ordering",
        action="store_false",
        help="moodle: leave order questions out (they need Moodle's qtype_ordering)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.execute and args.format != "ipynb":
        raise UsageError("--execute runs a notebook: use it with --format ipynb")
    if not args.ordering and args.format != "moodle":
        raise UsageError("--no-ordering is for --format moodle")
    common.check_output(args.output)
    cat = common.catalog(args, [args.path])
    return command(
        cat.library,
        cat.trusted,
        args.format,
        args.output,
        common.language(args),
        execute=args.execute,
        ordering=args.ordering,
    )
