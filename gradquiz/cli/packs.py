"""`gradquiz packs [--json]`: every loaded pack, where it came from, whether it may run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gradquiz.cli.common import ExitCode, catalog, console, json_text, print_problems


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "packs",
        help="list the loaded packs: where each came from and whether it is trusted",
        parents=[common],
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
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
        print(json_text(items))
    else:
        from rich.table import Table
        from rich.text import Text

        from gradquiz.display import one_line

        table = Table(box=None, pad_edge=False)
        table.add_column("path", overflow="fold")
        table.add_column("from", no_wrap=True)
        table.add_column("questions", justify="right", no_wrap=True)
        table.add_column("trust", no_wrap=True)
        for s in summaries:
            table.add_row(Text(one_line(s.file)), s.origin, str(s.questions), s.state)
        console().print(table)
    sys.stdout.flush()
    print_problems(cat.settings_problems)
    return ExitCode.OK
