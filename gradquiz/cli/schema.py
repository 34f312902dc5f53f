"""`gradquiz schema [-o FILE]`: the JSON Schema of question files."""

from __future__ import annotations

import argparse
from typing import Any

from gradquiz.cli.common import ExitCode, check_output, write_file
from gradquiz.i18n import _


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "schema", help=_("print the JSON Schema of question files"), parents=[common]
    )
    parser.add_argument("-o", "--output", metavar="FILE", help=_("write it to FILE"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from gradquiz.format.schema import schema_text

    if args.output is None:
        print(schema_text(), end="")
    else:
        check_output(args.output)
        write_file(args.output, schema_text())
    return ExitCode.OK
