"""`gradquiz list [--json]`: the loaded questions."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gradquiz.cli.common import ExitCode, catalog, json_text, language, report_load_problems
from gradquiz.display import one_line
from gradquiz.format import Question
from gradquiz.i18n import N_, _
from gradquiz.packs import Catalog

COLUMNS = (N_("id"), N_("type"), N_("topic"), N_("title"))
GAP = "  "


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("list", help=_("list the loaded questions"), parents=[common])
    parser.add_argument("--json", action="store_true", help=_("print a JSON array"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    cat = catalog(args)
    lang = language(args)
    if args.json:
        print(json_text(items(cat)))
    else:
        rows: list[tuple[str, str, str, str]] = [
            (q.id, q.type, one_line(q.topic), one_line(q.title.get(lang)))
            for q in cat.library.questions
        ]
        if sys.stdout.isatty():
            table(rows)
        else:
            # For grep, cut and awk: one question a line, fields split by tabs, nothing folded.
            sys.stdout.writelines("\t".join(row) + "\n" for row in rows)
    report_load_problems(cat.library.problems)
    return ExitCode.OK


def items(cat: Catalog) -> list[dict[str, Any]]:
    return [item(cat, q) for q in cat.library.questions]


def item(cat: Catalog, q: Question) -> dict[str, Any]:
    return {
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


def table(rows: list[tuple[str, str, str, str]]) -> None:
    """Aligned columns, the title folded to the terminal's width.

    Drawn by hand: Rich's Table measures every cell of every row, 3 s for 5,000 questions.
    Ids are what people copy into `run` and `--question`: never cut short.
    """
    import shutil

    from rich.cells import cell_len

    names = [_(name) for name in COLUMNS]
    widths = [
        max([cell_len(name), *(cell_len(row[i]) for row in rows)])
        for i, name in enumerate(names[:3])
    ]
    indent = sum(widths) + len(GAP) * 3
    room = max(20, shutil.get_terminal_size().columns - indent)
    out = [_line((*names[:3],), widths, names[3])]
    for row in rows:
        pieces = _fold(row[3], room)
        out.append(_line(row[:3], widths, pieces[0]))
        out.extend(" " * indent + piece for piece in pieces[1:])
    sys.stdout.write("\n".join(out) + "\n")


def _line(cells: tuple[str, ...], widths: list[int], title: str) -> str:
    from rich.cells import cell_len

    padded = [
        cell + " " * (width - cell_len(cell)) for cell, width in zip(cells, widths, strict=True)
    ]
    return GAP.join([*padded, title]).rstrip()


def _fold(text: str, width: int) -> list[str]:
    """Words onto lines of at most `width` cells; a word longer than a line is cut."""
    from rich.cells import cell_len, chop_cells

    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = chop_cells(word, width) if cell_len(word) > width else [word]
        lines.extend(pieces[:-1])
        current = pieces[-1]
    lines.append(current)
    return lines
