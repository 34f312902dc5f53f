"""`gradquiz check`: validate, run every experiment, verify every key, warn where a question
will not teach well; as text, JSON or JUnit XML; once, or again whenever a file is saved."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from xml.etree import ElementTree

from gradquiz import grading, lint, locations
from gradquiz.format import Library, Problem, Question
from gradquiz.format.library import find_files
from gradquiz.lab.cache import ResultCache
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import VariantRequest, VariantResult, requests_for

FORMATS = ("text", "json", "junit")
Key = tuple[str, str]  # (question id, variant id)
# How often --watch looks at the files' modification times.
POLL_SECONDS = 0.5


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


@dataclass
class Report:
    """What one check found; `by_question` keeps each question's findings for JUnit."""

    library: Library
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    by_question: dict[str, list[Problem]] = field(default_factory=dict)
    runs: int = 0
    seconds: float = 0.0
    untrusted: int = 0
    cached: int = 0

    def failing(self, strict: bool) -> list[Problem]:
        return sorted([*self.problems, *self.warnings]) if strict else self.problems

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.failing(strict) else 0


def collect(
    library: Library,
    trusted: Callable[[Question], bool],
    workers: int | None = None,
    lab: Lab | None = None,
    cache: ResultCache | None = None,
) -> Report:
    """Run and judge everything in `library`; `lab` lets --watch keep its workers warm;
    with `cache` (--cached), kept results stand in for runs and fresh ones are kept."""
    started = time.perf_counter()
    report = Report(library, problems=list(library.problems))
    runnable = [q for q in library.questions if q.experiment is not None and trusted(q)]
    report.untrusted = sum(q.experiment is not None and not trusted(q) for q in library.questions)
    # The slow runs (torchvision models and datasets) first, so no worker is left with one
    # of them at the end while the other waits.
    requests: list[VariantRequest] = sorted(
        (r for q in runnable for r in requests_for(q)), key=lambda r: not r.uses_torchvision
    )
    results: dict[Key, VariantResult] = {}
    if cache is not None:
        for request in requests:
            kept = cache.get(request)
            if kept is not None:
                results[(request.question, request.variant)] = kept.result
        report.cached = len(results)
    fresh = [r for r in requests if (r.question, r.variant) not in results]
    if fresh:
        torchvision = any(r.uses_torchvision for r in fresh)
        size = min(workers or os.cpu_count() or 1, len(fresh))
        owned = Lab(size, torchvision) if lab is None else nullcontext(lab)
        with _progress(len(fresh)) as progress, owned as running:
            task = progress.add_task("check", total=len(fresh)) if progress else None

            def advance(_: VariantResult) -> None:
                if progress is not None:
                    progress.advance(task)

            for result in running.run_all(fresh, on_result=advance):
                results[(result.question, result.variant)] = result
            _retime(running, fresh, results)
        if cache is not None:
            for request in fresh:
                cache.put(request, results[(request.question, request.variant)])
    # Grouped once: looking each question's runs up among all runs is quadratic in the bank.
    by_question: dict[str, dict[str, VariantResult]] = {}
    for (question_id, variant), result in results.items():
        by_question.setdefault(question_id, {})[variant] = result
    for question in runnable:
        mine = by_question.get(question.id, {})
        found = grading.check(question, mine)
        warned = lint.warnings(question, mine, key_disputed=bool(found))
        report.problems.extend(found)
        report.warnings.extend(warned)
        report.by_question[question.id] = sorted([*found, *warned])
    report.problems.sort()
    report.warnings.sort()
    report.runs = len(requests)
    report.seconds = time.perf_counter() - started
    return report


def _retime(lab: Lab, requests: list[VariantRequest], results: dict[Key, VariantResult]) -> None:
    """Time again, one at a time, the runs that looked slow while every core was busy.

    Run side by side (and beside whatever else the machine does), a 0.5 s variant can take
    1.3 s; the learner's app runs one question at a time, so the warning rests on the faster
    of the two timings.
    """
    for request in requests:
        key = (request.question, request.variant)
        first = results[key]
        if first.seconds > lint.SLOW_SECONDS and first.error is None:
            again = lab.run(request)
            results[key] = replace(first, seconds=min(first.seconds, again.seconds))


def summary(report: Report) -> str:
    counts = f"{len(report.problems)} problem(s)" if report.problems else "no problems"
    kept = f" ({report.cached} of {report.runs} from cache)" if report.cached else ""
    if report.warnings:
        counts += f", {len(report.warnings)} warning(s)"
    return (
        f"{len(report.library.questions)} questions in {len(report.library.files)} files, "
        f"{report.runs} experiment runs{kept} in {report.seconds:.1f} s: {counts}"
    )


def render_text(report: Report, out: TextIO, err: TextIO) -> None:
    for problem in sorted([*report.problems, *report.warnings]):
        print(problem, file=out)
    # Lines before their summary, also when stdout is a pipe (buffered) and stderr is not.
    out.flush()
    print(summary(report), file=err)
    if report.untrusted:
        print(
            f"not run: {report.untrusted} question(s) from packs found through GRADQUIZ_PATH "
            "or the settings file, which are not trusted; trust them with `gradquiz trust PATH`, "
            "or name them with --questions or as PATH to run them",
            file=err,
        )


def _item(problem: Problem) -> dict[str, Any]:
    where = problem.location
    return {
        "file": where.file,
        "line": where.line,
        "column": where.column,
        "severity": problem.severity,
        "message": problem.message,
    }


def render_json(report: Report, strict: bool = False) -> str:
    document = {
        "problems": [_item(p) for p in report.problems],
        "warnings": [_item(p) for p in report.warnings],
        "counts": {
            "problems": len(report.problems),
            "warnings": len(report.warnings),
            "questions": len(report.library.questions),
            "files": len(report.library.files),
            "runs": report.runs,
            "not_run": report.untrusted,
        },
        "seconds": round(report.seconds, 3),
        "exit_code": report.exit_code(strict),
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_junit(report: Report, strict: bool = False) -> str:
    """JUnit XML: a testsuite per file, a testcase per question, a failure per problem.

    Problems found while loading belong to no loaded question (a question that does not load
    is not in the library), so they fail a `load` testcase of their file. Warnings go to the
    testcase's system-out, or become failures with --strict.
    """
    root = ElementTree.Element("testsuites", name="gradquiz check")
    files = list(report.library.files)
    files += sorted({p.location.file for p in report.library.problems} - set(files))
    total = failed = 0
    for file in files:
        suite = ElementTree.SubElement(root, "testsuite", name=file)
        cases: list[tuple[str, int, list[Problem]]] = []
        loading = [p for p in report.library.problems if p.location.file == file]
        if loading:
            cases.append(("load", 1, loading))
        for q in report.library.questions:
            if q.pack.file == file:
                cases.append((q.id, q.location.line, report.by_question.get(q.id, [])))
        suite_failed = 0
        for name, line, found in cases:
            case = ElementTree.SubElement(
                suite, "testcase", name=name, classname=file, file=file, line=str(line)
            )
            failures = [p for p in found if strict or p.severity == "error"]
            for problem in failures:
                failure = ElementTree.SubElement(
                    case, "failure", message=problem.message, type=problem.severity
                )
                failure.text = str(problem)
            notes = [p for p in found if p not in failures]
            if notes:
                ElementTree.SubElement(case, "system-out").text = "\n".join(map(str, notes))
            suite_failed += bool(failures)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(suite_failed))
        suite.set("errors", "0")
        total += len(cases)
        failed += suite_failed
    root.set("tests", str(total))
    root.set("failures", str(failed))
    root.set("errors", "0")
    root.set("time", f"{report.seconds:.3f}")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode")


def render(report: Report, fmt: str, strict: bool, out: TextIO, err: TextIO) -> None:
    if fmt == "json":
        print(render_json(report, strict), file=out)
    elif fmt == "junit":
        print(render_junit(report, strict), file=out)
    else:
        render_text(report, out, err)


def run_check(
    library: Library,
    trusted: Callable[[Question], bool],
    workers: int | None = None,
    fmt: str = "text",
    strict: bool = False,
    *,
    cache: ResultCache | None = None,
) -> int:
    report = collect(library, trusted, workers, cache=cache)
    render(report, fmt, strict, sys.stdout, sys.stderr)
    return report.exit_code(strict)


def snapshot(paths: Iterable[str | Path]) -> dict[str, int]:
    """Modification times of the question files under `paths`; a new or deleted file counts."""
    files, _ = find_files(paths)
    times = {}
    for path in files:
        try:
            times[str(path)] = path.stat().st_mtime_ns
        except OSError:  # deleted between listing and stat: the next poll sees it gone
            continue
    return times


def watch(
    paths: Sequence[str | Path],
    check_once: Callable[[], object],
    out: TextIO,
    stop: threading.Event | None = None,
    interval: float = POLL_SECONDS,
) -> int:
    """Check now, then again each time a file under `paths` changes, until `stop` or Ctrl-C.

    Polls modification times (no new dependency, works on every file system); `stop` lets
    a test or another thread end the loop.
    """
    stop = stop or threading.Event()
    try:
        seen = snapshot(paths)
        while True:
            print(f"--- {datetime.now():%H:%M:%S} checking {len(seen)} file(s)", file=out)
            out.flush()
            check_once()
            out.flush()
            while not stop.wait(interval):
                now = snapshot(paths)
                if now != seen:
                    seen = now
                    break
            else:
                return 0
    except KeyboardInterrupt:
        print("", file=out)
        return 0


def command(
    load: Callable[[], tuple[Library, Callable[[Question], bool]]],
    watched: Sequence[str | Path],
    *,
    workers: int | None,
    fmt: str,
    strict: bool,
    watching: bool,
    cached: bool = False,
) -> int:
    """The body of `gradquiz check`; `load` re-reads the packs (main.py owns the catalog);
    `cached`: kept results stand in for runs (never the default: CI must run everything)."""
    cache = ResultCache(locations.cache_dir() / "results") if cached else None
    if not watching:
        library, trusted = load()
        return run_check(library, trusted, workers, fmt, strict, cache=cache)
    # One warm pool for the whole session: a re-check then costs the runs, not a torch import.
    with Lab(workers or os.cpu_count() or 1) as lab:

        def once() -> None:
            library, trusted = load()
            report = collect(library, trusted, workers, lab, cache)
            render(report, fmt, strict, sys.stdout, sys.stderr)

        first, _ = load()
        # JSON and JUnit keep stdout to the reports themselves, one after another.
        headers = sys.stdout if fmt == "text" else sys.stderr
        return watch(list(watched) or first.files, once, headers)
