"""`gradquiz doctor`: which isolation this machine gives experiments, and what it does not."""

from __future__ import annotations

import argparse
import json

from gradquiz.lab.isolation import findings


def command(args: argparse.Namespace) -> int:
    found = findings()
    if args.json:
        print(json.dumps([vars(f) for f in found], indent=2))
        return 0
    print("What this machine enforces on the experiments gradquiz runs:")
    for finding in found:
        print(f"  {'yes' if finding.held else 'no ':<4} {finding.name}")
        print(f"       {finding.detail}")
    return 0
