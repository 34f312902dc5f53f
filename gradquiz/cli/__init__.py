"""The command line: argument parsing and the headless commands, one module each."""

from gradquiz.cli.main import main

__all__ = ["main"]
