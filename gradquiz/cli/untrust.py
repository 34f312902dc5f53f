"""`gradquiz untrust PATH`: withdraw trust from a pack file, or from every pack under a
directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradquiz.cli.common import ExitCode, UsageError, warn
from gradquiz.display import one_line
from gradquiz.i18n import _
from gradquiz.trust import TrustNotSaved, TrustStore


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "untrust", help=_("stop trusting a pack (file or directory)"), parents=[common]
    )
    parser.add_argument("path", metavar="PATH")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    path = Path(args.path)
    shown = one_line(args.path)
    store = TrustStore.load()
    try:
        removed = store.forget(path)
    except TrustNotSaved as exc:
        warn(_("{reason}; nothing was untrusted").format(reason=one_line(str(exc))))
        return ExitCode.PROBLEMS
    if not removed and not path.exists():
        raise UsageError(
            _("{path}: no such file or directory, and nothing trusted there").format(path=shown)
        )
    if not removed:
        print(_("{path} was not trusted").format(path=shown))
    for file, sha256 in sorted(removed.items()):
        # trust.json is a file anyone can edit: its keys are text like any other.
        message = _("no longer trusted: {file} (sha256 {sha256})")
        print(message.format(file=one_line(file), sha256=one_line(sha256[:12])))
    return ExitCode.OK
