"""`gradquiz check`: validate, run every experiment, verify every key; progress on a terminal."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from gradquiz import grading
from gradquiz.format import Library, Problem, Question
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import VariantRequest, VariantResult, requests_for


def _progress(total: int) -> Any:
    """A progress bar on stderr when a person is watching, nothing otherwise."""
    if not sys.stderr.isatty() or total == 0:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "checking",
        BarColumn(),
        MofNCompleteColumn(),
        "variants",
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def run_check(
    library: Library, trusted: Callable[[Question], bool], workers: int | None = None
) -> int:
    started = time.perf_counter()
    problems: list[Problem] = list(library.problems)
    runnable = [q for q in library.questions if q.experiment is not None and trusted(q)]
    untrusted = [q for q in library.questions if q.experiment is not None and not trusted(q)]
    # The slow runs (torchvision models and datasets) first, so no worker is left with one
    # of them at the end while the other waits.
    requests: list[VariantRequest] = sorted(
        (r for q in runnable for r in requests_for(q)), key=lambda r: not r.uses_torchvision
    )
    results: dict[tuple[str, str], VariantResult] = {}
    if requests:
        torchvision = any(r.uses_torchvision for r in requests)
        size = min(workers or os.cpu_count() or 1, len(requests))
        with _progress(len(requests)) as progress, Lab(size, torchvision) as lab:
            task = progress.add_task("check", total=len(requests)) if progress else None

            def advance(_: VariantResult) -> None:
                if progress is not None:
                    progress.advance(task)

            for result in lab.run_all(requests, on_result=advance):
                results[(result.question, result.variant)] = result
    for question in runnable:
        mine = {v: r for (q, v), r in results.items() if q == question.id}
        problems.extend(grading.check(question, mine))
    problems.sort()
    for problem in problems:
        print(problem)
    elapsed = time.perf_counter() - started
    summary = (
        f"{len(library.questions)} questions in {len(library.files)} files, "
        f"{len(requests)} experiment runs in {elapsed:.1f} s: "
        + (f"{len(problems)} problem(s)" if problems else "no problems")
    )
    print(summary, file=sys.stderr)
    if untrusted:
        print(
            f"not run: {len(untrusted)} question(s) from packs found through GRADQUIZ_PATH "
            "or the settings file, which are not trusted; trust them with `gradquiz trust PATH`, "
            "or name them with --questions or as PATH to run them",
            file=sys.stderr,
        )
    return 1 if problems else 0
