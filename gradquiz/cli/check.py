"""`gradquiz check`: validate, run every experiment, verify every key, warn where a question
will not teach well; as text, JSON or JUnit XML; once, or again whenever a file is saved."""

from __future__ import annotations

import argparse
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
from typing import TYPE_CHECKING, Any, TextIO

from gradquiz.cli import common
from gradquiz.cli.common import ExitCode
from gradquiz.display import one_line, plural
from gradquiz.format import Library, Problem, Question
from gradquiz.format.library import find_files
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.lab.cache import ResultCache
    from gradquiz.lab.client import Lab
    from gradquiz.lab.protocol import VariantRequest, VariantResult

FORMATS = ("text", "json", "junit")
Key = tuple[int, str]  # (which question and draw, variant id)
# How often --watch looks at the files' modification times.
POLL_SECONDS = 0.5


def _progress(total: int) -> Any:
    """A progress bar on stderr when a person is watching, nothing otherwise."""
    if not sys.stderr.isatty() or total == 0:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        _("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        _("variants"),
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
        return ExitCode.PROBLEMS if self.failing(strict) else ExitCode.OK


def collect(
    library: Library,
    trusted: Callable[[Question], bool],
    workers: int | None = None,
    lab: Lab | None = None,
    *,
    draws: int | None = None,
    cache: ResultCache | None = None,
) -> Report:
    """Run and judge everything in `library`; `lab` lets --watch keep its workers warm;
    with `cache` (--cached), kept results stand in for runs and fresh ones are kept.

    A question with params is run and judged on each of its sampled draws (`draws` of them;
    by default every draw when there are at most eight).
    """
    # Here, not at the top: every command's module is imported before the app's first paint.
    from gradquiz.lab.protocol import requests_for

    started = time.perf_counter()
    report = Report(library, problems=list(library.problems))
    runnable = [q for q in library.questions if q.experiment is not None and trusted(q)]
    report.untrusted = sum(q.experiment is not None and not trusted(q) for q in library.questions)
    cases = every_draw(runnable, draws)
    # The slow runs (torchvision models and datasets) first, so no worker is left with one
    # of them at the end while the other waits.
    requests: list[tuple[int, VariantRequest]] = sorted(
        ((index, r) for index, (_, q) in enumerate(cases) for r in requests_for(q)),
        key=lambda item: not item[1].uses_torchvision,
    )
    results: dict[Key, VariantResult] = {}
    if cache is not None:
        for index, request in requests:
            kept = cache.get(request)
            if kept is not None:
                results[(index, request.variant)] = kept.result
        report.cached = len(results)
    fresh = [(i, r) for i, r in requests if (i, r.variant) not in results]
    if fresh:
        torchvision = any(r.uses_torchvision for _, r in fresh)
        size = min(workers or os.cpu_count() or 1, len(fresh))
        owned = common.open_lab(size, torchvision) if lab is None else nullcontext(lab)
        with _progress(len(fresh)) as progress, owned as running:
            running.prepare(torchvision)
            task = progress.add_task("check", total=len(fresh)) if progress else None

            def advance(_result: VariantResult) -> None:
                if progress is not None:
                    progress.advance(task)

            ran = running.run_all([r for _, r in fresh], on_result=advance)
            for (index, _request), result in zip(fresh, ran, strict=True):
                results[(index, result.variant)] = result
            _retime(running, fresh, results)
        if cache is not None:
            for index, request in fresh:
                cache.put(request, results[(index, request.variant)])
    # Grouped once: looking each question's runs up among all runs is quadratic in the bank.
    by_case: dict[int, dict[str, VariantResult]] = {}
    for (index, variant), result in results.items():
        by_case.setdefault(index, {})[variant] = result
    found_by: dict[str, list[Labelled]] = {}
    warned_by: dict[str, list[Labelled]] = {}
    for index, (question, drawn) in enumerate(cases):
        mine = by_case.get(index, {})
        found = _judge(drawn, mine)
        warned = _lint(drawn, mine, bool(found))
        found_by.setdefault(question.id, []).append((_draw_label(drawn), found))
        warned_by.setdefault(question.id, []).append((_draw_label(drawn), warned))
    for question in runnable:
        found = _once(found_by.get(question.id, []))
        warned = _once(warned_by.get(question.id, []))
        report.problems.extend(found)
        report.warnings.extend(warned)
        report.by_question[question.id] = sorted([*found, *warned])
    report.problems.sort()
    report.warnings.sort()
    report.runs = len(requests)
    report.seconds = time.perf_counter() - started
    return report


def every_draw(
    questions: list[Question], draws: int | None = None
) -> list[tuple[Question, Question]]:
    """Each question with each of its draws that check runs (see collect): the question
    itself when it has no params."""
    from gradquiz.format.params import for_run, sampled

    return [
        (question, for_run(question, number) if question.params else question)
        for question in questions
        for number in sampled(question, draws)
    ]


def _judge(question: Question, results: dict[str, VariantResult]) -> list[Problem]:
    from gradquiz import grading

    return grading.check(question, results)


def _lint(question: Question, results: dict[str, VariantResult], disputed: bool) -> list[Problem]:
    from gradquiz import lint

    return lint.warnings(question, results, key_disputed=disputed)


# One draw's findings, and the words naming that draw (`in draw 2 (lr = 0.01)`).
Labelled = tuple[str, list[Problem]]


def _draw_label(question: Question) -> str:
    if question.draw is None:
        return ""
    from gradquiz.format.params import drawn_values, shown

    drew = ", ".join(f"{k} = {shown(v)}" for k, v in drawn_values(question).items())
    return f"in draw {question.draw.number} ({drew})"


def _once(per_draw: list[Labelled]) -> list[Problem]:
    """Every draw's findings, each naming its draw; one that every draw shares is said once,
    without a draw (a wrong key, a slow experiment)."""
    shared = (
        set.intersection(*({(p.location, p.message) for p in f} for _, f in per_draw))
        if per_draw
        else set()
    )
    out = [
        replace(p, message=f"{label}: {p.message}")
        for label, found in per_draw
        for p in found
        if (p.location, p.message) not in shared
    ]
    return (
        out + [p for p in per_draw[0][1] if (p.location, p.message) in shared] if per_draw else out
    )


def _retime(
    lab: Lab, requests: list[tuple[int, VariantRequest]], results: dict[Key, VariantResult]
) -> None:
    """Time again, one at a time, the runs that looked slow while every core was busy.

    Run side by side (and beside whatever else the machine does), a 0.5 s variant can take
    1.3 s; the learner's app runs one question at a time, so the warning rests on the faster
    of the two timings.
    """
    from gradquiz import lint

    for index, request in requests:
        key = (index, request.variant)
        first = results[key]
        if first.seconds > lint.SLOW_SECONDS and first.error is None:
            again = lab.run(request)
            results[key] = replace(first, seconds=min(first.seconds, again.seconds))


def summary(report: Report) -> str:
    problems = len(report.problems)
    counts = plural(problems, "{n} problem", "{n} problems") if problems else _("no problems")
    if report.warnings:
        warnings = plural(len(report.warnings), "{n} warning", "{n} warnings")
        counts = _("{problems}, {warnings}").format(problems=counts, warnings=warnings)
    runs = plural(report.runs, "{n} experiment run", "{n} experiment runs")
    if report.cached:
        runs = _("{runs} ({cached} of {total} from cache)").format(
            runs=runs, cached=report.cached, total=report.runs
        )
    return _("{questions} in {files}, {runs} in {seconds:.1f} s: {counts}").format(
        questions=plural(len(report.library.questions), "{n} question", "{n} questions"),
        files=plural(len(report.library.files), "{n} file", "{n} files"),
        runs=runs,
        seconds=report.seconds,
        counts=counts,
    )


def render_text(report: Report, out: TextIO, err: TextIO) -> None:
    for problem in sorted([*report.problems, *report.warnings]):
        print(one_line(str(problem)), file=out)
    # Lines before their summary, also when stdout is a pipe (buffered) and stderr is not.
    out.flush()
    print(summary(report), file=err)
    if report.untrusted:
        message = plural(
            report.untrusted,
            "not run: {n} question from packs found through GRADQUIZ_PATH or the settings "
            "file, which are not trusted; trust them with `gradquiz trust PATH`, or name them "
            "with --questions or as PATH to run them",
            "not run: {n} questions from packs found through GRADQUIZ_PATH or the settings "
            "file, which are not trusted; trust them with `gradquiz trust PATH`, or name them "
            "with --questions or as PATH to run them",
        )
        print(message, file=err)


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
    from xml.etree import ElementTree

    root = ElementTree.Element("testsuites", name="gradquiz check")
    files = list(report.library.files)
    files += sorted({p.location.file for p in report.library.problems} - set(files))
    total = failed = 0
    for file in files:
        # XML 1.0 cannot hold most control characters, and a terminal must not get them.
        shown = one_line(file)
        suite = ElementTree.SubElement(root, "testsuite", name=shown)
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
                suite, "testcase", name=name, classname=shown, file=shown, line=str(line)
            )
            failures = [p for p in found if strict or p.severity == "error"]
            for problem in failures:
                failure = ElementTree.SubElement(
                    case, "failure", message=one_line(problem.message), type=problem.severity
                )
                failure.text = one_line(str(problem))
            notes = [p for p in found if p not in failures]
            if notes:
                lines = (one_line(str(note)) for note in notes)
                ElementTree.SubElement(case, "system-out").text = "\n".join(lines)
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


def snapshot(paths: Iterable[str | Path]) -> dict[str, int]:
    """Modification times of the question files under `paths`; a new or deleted file counts."""
    files, _problems = find_files(paths)
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
            files = plural(len(seen), "{n} file", "{n} files")
            print(
                f"--- {datetime.now():%H:%M:%S} " + _("checking {files}").format(files=files),
                file=out,
            )
            out.flush()
            check_once()
            out.flush()
            while not stop.wait(interval):
                now = snapshot(paths)
                if now != seen:
                    seen = now
                    break
            else:
                return ExitCode.OK
    except KeyboardInterrupt:
        print("", file=out)
        return ExitCode.OK


def command(
    load: Callable[[], tuple[Library, Callable[[Question], bool]]],
    watched: Sequence[str | Path],
    *,
    workers: int | None,
    fmt: str,
    strict: bool,
    watching: bool,
    draws: int | None = None,
    cached: bool = False,
) -> int:
    """The body of `gradquiz check`; `load` re-reads the packs (main.py owns the catalog);
    `cached`: kept results stand in for runs (never the default: CI must run everything)."""
    from gradquiz import locations
    from gradquiz.lab.cache import ResultCache

    cache = ResultCache(locations.kept_results()) if cached else None
    if not watching:
        # Started before the packs are read, so the workers import torch meanwhile; not when
        # kept results may make them needless.
        size = workers or os.cpu_count() or 1
        early = nullcontext(None) if cached else common.open_lab(size, torchvision=None)
        with early as lab:
            library, trusted = load()
            report = collect(library, trusted, workers, lab, draws=draws, cache=cache)
        render(report, fmt, strict, sys.stdout, sys.stderr)
        return report.exit_code(strict)
    # One warm pool for the whole session: a re-check then costs the runs, not a torch import.
    with common.open_lab(workers or os.cpu_count() or 1) as lab:

        def once() -> None:
            library, trusted = load()
            report = collect(library, trusted, workers, lab, draws=draws, cache=cache)
            render(report, fmt, strict, sys.stdout, sys.stderr)

        first, _trusted = load()
        # JSON and JUnit keep stdout to the reports themselves, one after another.
        headers = sys.stdout if fmt == "text" else sys.stderr
        return watch(list(watched) or first.files, once, headers)


def register(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "check",
        help=_("validate packs, run every experiment and verify every answer key"),
        parents=[parent],
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=_("files or directories to check"))
    parser.add_argument(
        "--workers", type=int, default=None, help=_("worker processes (default: one per core)")
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help=_("report format"))
    parser.add_argument("--strict", action="store_true", help=_("warnings fail the check too"))
    parser.add_argument(
        "--draws",
        type=int,
        metavar="N",
        help=_(
            "run N draws of each question with params (default: every draw when there are "
            "at most 8, else 8)"
        ),
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help=_("check again each time a file is saved (Ctrl-C ends)"),
    )
    parser.add_argument(
        "--cached",
        action="store_true",
        help=_("reuse kept results of unchanged runs, keep new ones"),
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    common.check_workers(args.workers)
    if args.draws is not None and args.draws < 1:
        raise common.UsageError("--draws must be at least 1")

    def load() -> tuple[Library, Callable[[Question], bool]]:
        cat = common.catalog(args, args.paths)
        return cat.library, cat.trusted

    watched = [*args.paths, *args.questions]
    return command(
        load,
        watched,
        workers=args.workers,
        fmt=args.format,
        strict=args.strict,
        watching=args.watch,
        draws=args.draws,
        cached=args.cached,
    )
