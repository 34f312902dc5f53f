"""`gradquiz doctor`: which isolation this machine gives experiments, and what it does not."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gradquiz.cli.common import ExitCode
from gradquiz.i18n import _


def register(commands: Any, parent: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "doctor", help=_("say how this machine isolates experiments"), parents=[parent]
    )
    parser.add_argument("--json", action="store_true", help=_("print a JSON array"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from gradquiz.lab.isolation import findings

    found = findings()
    if args.json:
        print(json.dumps([vars(f) for f in found], indent=2))
        return ExitCode.OK
    print(_("What this machine enforces on the experiments gradquiz runs:"))
    for finding in found:
        held = _("yes") if finding.held else _("no")
        print(f"  {held:<4} {finding.name}")
        print(f"       {finding.detail}")
    return ExitCode.OK
