"""Learner data: answers, review schedules and stats. No textual, no torch."""

from __future__ import annotations

import tomllib
from datetime import datetime

from gradquiz import locations
from gradquiz.progress.drill import NEW_PER_DAY, Progress
from gradquiz.progress.store import open_store


def new_per_day() -> tuple[int, str | None]:
    """The daily limit of new questions from the settings file's `new_per_day`, and what is
    wrong with the setting if it is unusable (a file that is not TOML is reported elsewhere)."""
    file = locations.settings_file()
    try:
        value = tomllib.loads(file.read_text(encoding="utf-8")).get("new_per_day", NEW_PER_DAY)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return NEW_PER_DAY, None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return NEW_PER_DAY, (
            f"{file}: new_per_day must be a whole number of questions, 0 or more; "
            f"using {NEW_PER_DAY}"
        )
    return value, None


def open_progress(now: datetime | None = None) -> tuple[Progress, list[str]]:
    """The learner's progress under GRADQUIZ_HOME, and what they should be told about it."""
    opened = open_store(locations.home(), now)
    limit, problem = new_per_day()
    notices = [*opened.notices, *([problem] if problem else [])]
    return Progress(opened.store, new_per_day=limit), notices
