"""The command line: the app by default, and the headless commands scripts rely on."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gradquiz import __version__, packs, startup
from gradquiz.format import Library, Problem, Question, load
from gradquiz.format.library import find_files
from gradquiz.packs import Catalog, PackSummary
from gradquiz.trust import TrustNotSaved, TrustStore

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def catalog(args: argparse.Namespace, paths: Sequence[str] = (), first: bool = False) -> Catalog:
    """Load the packs the arguments name. Explicit paths are trusted; GRADQUIZ_PATH's and the
    settings file's run once the learner trusts them (`gradquiz trust`).

    `first`: only up to the file with `--question` (or any question); see `load_first`."""
    named = [Path(p) for p in (*paths, *args.questions)]
    for path in named:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
    # `check PATH...` checks those paths alone, as its contract says.
    loaded = packs.discover(
        named,
        bundled=not args.no_bundled and not paths,
        configured=not paths,
        first=(args.question or "") if first else None,
    )
    if loaded.store.problem is not None:
        print(f"gradquiz: warning: {loaded.store.problem}", file=sys.stderr)
    return loaded


def find(cat: Catalog, question_id: str) -> Question:
    question = cat.library.get(question_id)
    if question is None:
        ids = [q.id for q in cat.library.questions]
        close = difflib.get_close_matches(question_id, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"no question with id {question_id!r}{hint}")
    return question


def language(args: argparse.Namespace) -> str | None:
    if args.lang:
        return str(args.lang)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split(".")[0].replace("_", "-")
    return None


def print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem)


def cmd_list(args: argparse.Namespace) -> int:
    cat = catalog(args)
    lang = language(args)
    if args.json:
        items = [
            {
                "id": q.id,
                "type": q.type,
                "topic": q.topic,
                "title": q.title.get(),
                "languages": q.languages,
                "file": q.pack.file,
                "pack": q.pack.name,
                "difficulty": q.difficulty,
                "tags": list(q.tags),
                "trusted": cat.trusted(q),
            }
            for q in cat.library.questions
        ]
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        # Ids are what people copy into `run` and `--question`: never cut them short.
        widest = max((len(q.id) for q in cat.library.questions), default=2)
        table.add_column("id", no_wrap=True, min_width=widest)
        table.add_column("type", no_wrap=True)
        table.add_column("topic", no_wrap=True)
        table.add_column("title", overflow="fold")
        for q in cat.library.questions:
            table.add_row(q.id, q.type, q.topic, q.title.get(lang))
        # Piped output is read by grep and less, not wrapped to a guessed 80 columns.
        Console(width=None if sys.stdout.isatty() else 10_000).print(table)
    if cat.library.problems:
        print(f"{len(cat.library.problems)} problem(s) while loading:", file=sys.stderr)
        for problem in cat.library.problems:
            print(problem, file=sys.stderr)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from gradquiz.format.schema import schema_text

    if args.output is None:
        print(schema_text(), end="")
    else:
        Path(args.output).write_text(schema_text(), encoding="utf-8")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from gradquiz.lab.client import Lab
    from gradquiz.lab.protocol import requests_for

    cat = catalog(args)
    question = find(cat, args.question_id)
    if not cat.trusted(question):
        file = question.pack.file
        raise UsageError(
            f"{cat.why_not(question.pack)}; trust it with `gradquiz trust {file}`, "
            f"or name it with --questions {file} to run it this once"
        )
    requests = requests_for(question)
    if not requests:
        raise UsageError(f"question {question.id!r} has no experiment to run")
    with Lab(min(len(requests), os.cpu_count() or 1)) as lab:
        results = {r.variant: r for r in lab.run_all(requests)}
        torch_version = lab.torch_version
    fmt = "json" if args.json else args.format
    if fmt == "text":
        from gradquiz.cli.report import print_run

        print_run(question, results, language(args))
    else:
        from gradquiz.cli import share

        print(share.render_run(fmt, question, results, torch_version, language(args)), end="")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from gradquiz.cli.check import command

    def load() -> tuple[Library, Any]:
        cat = catalog(args, args.paths)
        return cat.library, cat.trusted

    watched = [*args.paths, *args.questions]
    return command(
        load,
        watched,
        workers=args.workers,
        fmt=args.format,
        strict=args.strict,
        watching=args.watch,
        cached=args.cached,
    )


def cmd_new(args: argparse.Namespace) -> int:
    from gradquiz.cli.new import command

    return command(args.question_id, args.type, args.output)


def cmd_export(args: argparse.Namespace) -> int:
    from gradquiz.cli.export import command

    cat = catalog(args, [args.path])
    return command(cat.library, cat.trusted, args.format, args.output, language(args))


def cmd_doctor(args: argparse.Namespace) -> int:
    from gradquiz.cli.doctor import command

    return command(args)


def cmd_app(args: argparse.Namespace) -> int:
    from gradquiz.tui.app import run_app

    cat = catalog(args, first=True)  # the app reads the other files after its first paint
    if args.question is not None:
        find(cat, args.question)
    return run_app(cat.library, cat, args.question, language(args))


def describe(summary: PackSummary) -> str:
    """One line a person can decide on: which pack, whose, and how much code it carries."""
    title = f"“{summary.title}”" if summary.title else Path(summary.file).name
    authors = f"by {', '.join(summary.authors)}" if summary.authors else "no authors given"
    return (
        f"{title}, {authors}: {summary.questions} question(s), {summary.snippets} code snippet(s)"
    )


def pack_files(path: Path) -> list[Path]:
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    files, _ = find_files([path])
    if not files:
        raise UsageError(f"{path}: no *.yaml or *.yml files under it")
    return files


def cmd_trust(args: argparse.Namespace) -> int:
    store = TrustStore.load()
    if store.problem is not None:
        print(f"gradquiz: warning: {store.problem}", file=sys.stderr)
    code = EXIT_OK
    for file in pack_files(Path(args.path)):
        # The file alone, so the problems are its own; trust covers the bytes just checked.
        library = load([file])
        pack = library.packs[0]
        if library.problems:
            print_problems(library.problems)
            print(
                f"gradquiz: not trusted: {file} has {len(library.problems)} problem(s); "
                "fix them first (`gradquiz check` shows them too)",
                file=sys.stderr,
            )
            code = EXIT_PROBLEMS
            continue
        summary = packs.summarize(pack, library.questions, "command line", "trusted")
        try:
            store.record(pack.file, pack.sha256)
        except TrustNotSaved as exc:
            print(f"gradquiz: {exc}; {file} is not trusted", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"trusted {Path(pack.file).resolve()} (sha256 {pack.sha256[:12]})")
        print(f"  {describe(summary)}")
    return code


def cmd_untrust(args: argparse.Namespace) -> int:
    path = Path(args.path)
    store = TrustStore.load()
    try:
        removed = store.forget(path)
    except TrustNotSaved as exc:
        print(f"gradquiz: {exc}; nothing was untrusted", file=sys.stderr)
        return EXIT_PROBLEMS
    if not removed and not path.exists():
        raise UsageError(f"{path}: no such file or directory, and nothing trusted there")
    if not removed:
        print(f"{path} was not trusted")
    for file, sha256 in sorted(removed.items()):
        print(f"no longer trusted: {file} (sha256 {sha256[:12]})")
    return EXIT_OK


def cmd_packs(args: argparse.Namespace) -> int:
    cat = catalog(args)
    summaries = [cat.summary(pack) for pack in cat.library.packs]
    if args.json:
        items = [
            {
                "path": s.file,
                "origin": s.origin,
                "questions": s.questions,
                "trust": s.state,
                "title": s.title,
                "authors": list(s.authors),
                "snippets": s.snippets,
                "sha256": s.sha256,
            }
            for s in summaries
        ]
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        table.add_column("path", overflow="fold")
        table.add_column("from", no_wrap=True)
        table.add_column("questions", justify="right", no_wrap=True)
        table.add_column("trust", no_wrap=True)
        for s in summaries:
            table.add_row(s.file, s.origin, str(s.questions), s.state)
        Console(width=None if sys.stdout.isatty() else 10_000).print(table)
    if cat.settings_problems:
        for problem in cat.settings_problems:
            print(problem, file=sys.stderr)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from gradquiz.cli import progress

    return progress.cmd_stats(args, catalog(args).library.questions)


def cmd_reset(args: argparse.Namespace) -> int:
    from gradquiz.cli import progress

    return progress.cmd_reset(args, catalog(args).library.questions)


def cmd_drill(args: argparse.Namespace) -> int:
    from gradquiz.cli import progress

    cat = catalog(args)
    learner = progress.opened()
    queue = progress.drill_queue(args, learner, cat.library.questions)
    if args.list:
        progress.print_queue(learner, queue, language(args))
        return EXIT_OK
    learner.store.close()
    if not queue:
        print("Nothing is due and today's new questions are done; come back later.")
        return EXIT_OK
    from gradquiz.tui.app import run_app

    return run_app(cat.library, cat, None, language(args), drill=[q.id for q in queue])


# The flags every command takes, before or after its name: (flag, dest, default, options).
COMMON_FLAGS: list[tuple[str, str, Any, dict[str, Any]]] = [
    (
        "--questions",
        "questions",
        [],
        {
            "action": "append",
            "metavar": "PATH",
            "help": "add the packs in a file or directory (repeatable); their code is trusted",
        },
    ),
    (
        "--no-bundled",
        "no_bundled",
        False,
        {"action": "store_true", "help": "do not load the packs that come with gradquiz"},
    ),
    ("--question", "question", None, {"metavar": "ID", "help": "open the app at this question"}),
    (
        "--lang",
        "lang",
        None,
        {
            "metavar": "CODE",
            "help": "language of question text, e.g. en or zh (default: from LANG)",
        },
    ),
]


def _common(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Add the common flags; on a command (`prefix`), unset ones leave the top level's alone."""
    for flag, dest, default, options in COMMON_FLAGS:
        value = argparse.SUPPRESS if prefix else default
        parser.add_argument(flag, dest=prefix + dest, default=value, **options)


def _author_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """new, export: for instructors."""
    new = commands.add_parser("new", help="write a commented question file to start from")
    new.add_argument("question_id", metavar="ID", help="the new question's id (a slug)")
    new.add_argument(
        "--type",
        choices=("single", "multiple", "truefalse", "numeric", "order"),
        default="single",
        help="question type (default: single)",
    )
    new.add_argument("-o", "--output", metavar="FILE", help="write to FILE (never overwritten)")
    new.set_defaults(handler=cmd_new)

    export = commands.add_parser("export", help="write a handout of a pack, experiments run")
    export.add_argument("path", metavar="PATH", help="the pack file (its code runs)")
    export.add_argument("--format", choices=("markdown",), default="markdown")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    export.set_defaults(handler=cmd_export)
    return [new, export]


def _learner_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """stats, drill, reset: the learner's own progress."""
    stats = commands.add_parser("stats", help="show your progress: answered, accuracy, what is due")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.add_argument(
        "--export", metavar="FILE", help="write every answer ever given to FILE (.csv or .json)"
    )
    stats.add_argument(
        "--streak", choices=("on", "off"), help="show (or stop showing) a streak of days"
    )
    stats.set_defaults(handler=cmd_stats)

    drill = commands.add_parser(
        "drill", help="practise what is due, then new questions up to a daily limit"
    )
    drill.add_argument("--topic", metavar="T", help="only questions of this topic")
    drill.add_argument("--limit", type=int, metavar="N", help="serve at most N questions")
    drill.add_argument(
        "--mistakes", action="store_true", help="only questions whose last answer was wrong"
    )
    drill.add_argument(
        "--list", action="store_true", help="print what the drill would serve, and exit"
    )
    drill.set_defaults(handler=cmd_drill)

    reset = commands.add_parser("reset", help="forget the progress of some questions, or all")
    reset.add_argument("ids", nargs="*", metavar="QUESTION_ID")
    reset.add_argument("--all", action="store_true", help="forget everything")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(handler=cmd_reset)
    return [stats, drill, reset]


def _pack_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """packs, trust, untrust: packs from elsewhere."""
    listed = commands.add_parser(
        "packs", help="list the loaded packs: where each came from and whether it is trusted"
    )
    listed.add_argument("--json", action="store_true", help="print a JSON array")
    listed.set_defaults(handler=cmd_packs)

    trust = commands.add_parser(
        "trust", help="let a pack's code run, until the file changes (file or directory)"
    )
    trust.add_argument("path", metavar="PATH")
    trust.set_defaults(handler=cmd_trust)

    untrust = commands.add_parser("untrust", help="stop trusting a pack (file or directory)")
    untrust.add_argument("path", metavar="PATH")
    untrust.set_defaults(handler=cmd_untrust)
    return [listed, trust, untrust]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradquiz",
        description="Learn how PyTorch gradients really behave. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"gradquiz {__version__}")
    _common(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list the loaded questions")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser("run", help="run a question's experiment and print its tables")
    run.add_argument("question_id", metavar="QUESTION_ID")
    run.add_argument("--json", action="store_true", help="print one JSON object (--format json)")
    run.add_argument(
        "--format",
        choices=("text", "json", "markdown", "csv"),
        default="text",
        help="text tables, the JSON object, markdown tables or tidy CSV",
    )
    run.set_defaults(handler=cmd_run)

    check = commands.add_parser(
        "check", help="validate packs, run every experiment and verify every answer key"
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check")
    check.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per core)"
    )
    check.add_argument(
        "--format", choices=("text", "json", "junit"), default="text", help="report format"
    )
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument(
        "--watch", action="store_true", help="check again each time a file is saved (Ctrl-C ends)"
    )
    check.add_argument(
        "--cached", action="store_true", help="reuse kept results of unchanged runs, keep new ones"
    )
    check.set_defaults(handler=cmd_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of question files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write it to FILE")
    schema.set_defaults(handler=cmd_schema)

    doctor = commands.add_parser("doctor", help="say how this machine isolates experiments")
    doctor.add_argument("--json", action="store_true", help="print a JSON array")
    doctor.set_defaults(handler=cmd_doctor)

    subs = [listing, run, check, schema, doctor]
    subs += _author_commands(commands) + _learner_commands(commands) + _pack_commands(commands)
    for sub in subs:
        _common(sub, prefix="sub_")
    parser.set_defaults(handler=cmd_app)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for _, name, _, _ in COMMON_FLAGS:
        sub = getattr(args, "sub_" + name, None)
        if sub is None or sub is False:
            continue
        if name == "questions":
            args.questions = [*args.questions, *sub]
        else:
            setattr(args, name, sub)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.handler not in (cmd_app, cmd_drill) or getattr(args, "list", False):
        startup.resume()  # no screen to draw: start-up is over
    started = time.perf_counter()
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"gradquiz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"gradquiz: interrupted after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `gradquiz list | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code
