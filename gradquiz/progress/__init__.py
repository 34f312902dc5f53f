"""Learner data: answers, review schedules and stats. No textual, no torch."""

from __future__ import annotations

from datetime import datetime

from gradquiz import locations, settings
from gradquiz.progress.drill import Progress
from gradquiz.progress.store import open_store


def open_progress(now: datetime | None = None) -> tuple[Progress, list[str]]:
    """The learner's progress under GRADQUIZ_HOME, and what they should be told about it."""
    opened = open_store(locations.home(), now)
    configured = settings.load()
    problem = configured.new_per_day_problem
    notices = [*opened.notices, *([problem] if problem else [])]
    return Progress(opened.store, new_per_day=configured.new_per_day), notices
