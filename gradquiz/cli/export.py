"""`gradquiz export PATH`: a markdown handout of a whole pack, every experiment run for real."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from gradquiz.format import Library, Question
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import VariantResult, requests_for

EXIT_OK, EXIT_PROBLEMS = 0, 1


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
    requests = [r for q in questions for r in requests_for(q)]
    runs: dict[str, dict[str, VariantResult]] = {q.id: {} for q in questions}
    if not requests:
        return runs
    torchvision = any(r.uses_torchvision for r in requests)
    size = min(workers or os.cpu_count() or 1, len(requests))
    with _progress(len(requests)) as progress, Lab(size, torchvision) as lab:
        task = progress.add_task("export", total=len(requests)) if progress else None

        def advance(_: VariantResult) -> None:
            if progress is not None:
                progress.advance(task)

        for result in lab.run_all(requests, on_result=advance):
            runs[result.question][result.variant] = result
    return runs


def handout(library: Library, runs: dict[str, dict[str, VariantResult]], lang: str | None) -> str:
    from gradquiz.cli.share import question_markdown

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
            parts.append(question_markdown(question, runs.get(question.id), lang))
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
        for problem in library.problems:
            print(problem, file=sys.stderr)
        print("gradquiz: fix these first (see gradquiz check)", file=sys.stderr)
        return EXIT_PROBLEMS
    # The PATH was named on the command line, so it is trusted; the check stays for safety.
    runs = run_pack([q for q in library.questions if trusted(q)])
    text = handout(library, runs, lang)
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
    return EXIT_OK
