"""The command line: argument parsing and the headless commands (list, run, check, schema)."""

from gradquiz.cli.main import main

__all__ = ["main"]
