"""`gradquiz packs [--json]`: every loaded pack, where it came from, whether it may run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gradquiz.cli.common import ExitCode, catalog, console, json_text, print_problems
from gradquiz.i18n import N_, _
from gradquiz.packs import Origin, TrustState

# The table's words for where a pack came from and its trust state; `--json` keeps the values.
LABELS: dict[Origin | TrustState, str] = {
    "bundled": N_("bundled"),
    "command line": N_("command line"),
    "GRADQUIZ_PATH": "GRADQUIZ_PATH",
    "settings": N_("settings"),
    "always trusted": N_("always trusted"),
    "trusted": N_("trusted"),
    "changed since trusted": N_("changed since trusted"),
    "not trusted": N_("not trusted"),
}


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "packs",
        help=_("list the loaded packs: where each came from and whether it is trusted"),
        parents=[common],
    )
    parser.add_argument("--json", action="store_true", help=_("print a JSON array"))
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
        table.add_column(_("path"), overflow="fold")
        table.add_column(_("from"), no_wrap=True)
        table.add_column(_("questions"), justify="right", no_wrap=True)
        table.add_column(_("trust"), no_wrap=True)
        for s in summaries:
            origin, state = _(LABELS[s.origin]), _(LABELS[s.state])
            table.add_row(Text(one_line(s.file)), origin, str(s.questions), state)
        console().print(table)
    sys.stdout.flush()
    print_problems(cat.settings_problems)
    return ExitCode.OK
