"""The command line: the app by default, and the headless commands scripts rely on."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradquiz import __version__, locations
from gradquiz.format import Library, Problem, Question, load, load_first
from gradquiz.format.schema import json_schema

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


@dataclass
class Catalog:
    """What the flags and environment load, and which of it may run."""

    library: Library
    trusted_roots: list[Path] = field(default_factory=list)

    def trusted(self, question: Question) -> bool:
        file = Path(question.pack.file).resolve()
        return any(file == root or root in file.parents for root in self.trusted_roots)

    def find(self, question_id: str) -> Question:
        question = self.library.get(question_id)
        if question is None:
            ids = [q.id for q in self.library.questions]
            close = difflib.get_close_matches(question_id, ids, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"no question with id {question_id!r}{hint}")
        return question


def catalog(args: argparse.Namespace, paths: Sequence[str] = (), first: bool = False) -> Catalog:
    """Load the packs the arguments name. Explicit paths are trusted; GRADQUIZ_PATH's are not.

    `first`: only up to the file with `--question` (or any question); see `load_first`."""
    named = [Path(p) for p in (*paths, *args.questions)]
    for path in named:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
    trusted = list(named)
    found = [] if paths else locations.environment_paths()
    if not args.no_bundled and not paths:
        trusted.insert(0, locations.bundled_questions())
    library = load_first([*trusted, *found], args.question) if first else load([*trusted, *found])
    return Catalog(library, [p.resolve() for p in trusted])


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
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from gradquiz import grading
    from gradquiz.lab.client import Lab
    from gradquiz.lab.protocol import requests_for

    cat = catalog(args)
    question = cat.find(args.question_id)
    if not cat.trusted(question):
        raise UsageError(
            f"{question.pack.file} was found through GRADQUIZ_PATH and is not trusted, so its "
            f"code does not run; name it with --questions {question.pack.file} to run it"
        )
    requests = requests_for(question)
    if not requests:
        raise UsageError(f"question {question.id!r} has no experiment to run")
    with Lab(min(len(requests), os.cpu_count() or 1)) as lab:
        results = {r.variant: r for r in lab.run_all(requests)}
        torch_version = lab.torch_version
    if args.json:
        from gradquiz.display import jsonable

        document: dict[str, Any] = {
            "question": question.id,
            "torch": torch_version.split("+")[0],
            "variants": [
                {
                    "id": result.variant,
                    "columns": result.columns,
                    "rows": [
                        {"step": row.step, "values": jsonable(row.values)} for row in result.rows
                    ],
                    "error": None
                    if result.error is None
                    else {
                        "type": result.error.type,
                        "message": result.error.message,
                        "step": result.error.step,
                    },
                    "correct": grading.variant_correct(question, result.variant, results),
                    "output": result.output,
                }
                for result in results.values()
            ],
        }
        value = grading.numeric_value(question, results) if question.type == "numeric" else None
        if value is not None:
            document["answer"] = value
        print(json.dumps(document, ensure_ascii=False))
    else:
        from gradquiz.cli.report import print_run

        print_run(question, results, language(args))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from gradquiz.cli.check import run_check

    cat = catalog(args, args.paths)
    return run_check(cat.library, cat.trusted, workers=args.workers)


def cmd_app(args: argparse.Namespace) -> int:
    from gradquiz.tui.app import run_app

    cat = catalog(args, first=True)  # the app reads the other files after its first paint
    if args.question is not None:
        cat.find(args.question)
    return run_app(cat.library, cat.trusted, args.question, language(args))


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
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=cmd_run)

    check = commands.add_parser(
        "check", help="validate packs, run every experiment and verify every answer key"
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check")
    check.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per core)"
    )
    check.set_defaults(handler=cmd_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of question files")
    schema.set_defaults(handler=cmd_schema)

    for sub in (listing, run, check, schema):
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
