"""What a served session is told by `gradquiz serve`, and who its learner is. No textual, no
torch, nothing to import but the standard library: the app and the lab read these too."""

from __future__ import annotations

import os
import re

from gradquiz.i18n import _

# Set to "off" in every session `gradquiz serve` starts without `--allow-editing`: anyone on
# the page would run code on the server, so the lab's code editor and the playground check
# `editing_allowed()` and stay closed.
EDITING_ENV = "GRADQUIZ_EDITING"
# The environment textual-serve gives each session's process: it talks through its pipes,
# not a terminal.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"

# A learner's name is a directory name: lower-case letters, digits, '-' and '_', short.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,23}")


def editing_allowed() -> bool:
    return os.environ.get(EDITING_ENV, "on") != "off"


def served() -> bool:
    """Whether this process draws into a browser through textual-serve."""
    return os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER


def learner_name(text: str) -> str:
    """The learner's directory name for what they typed (`Ada` is `ada`); ValueError says
    what a name may be."""
    name = text.strip().lower()
    if not NAME.fullmatch(name):
        raise ValueError(
            _(
                "A name is 1 to 24 letters, digits, '-' or '_', starting with a letter or digit"
                " (for example ada or team-3)"
            )
        )
    return name
