"""Learner data: answers, review schedules and stats. No textual, no torch."""

from __future__ import annotations

from datetime import datetime

from fsrs import Scheduler

from gradquiz import locations, settings
from gradquiz.progress.drill import Progress
from gradquiz.progress.store import open_store


def open_progress(now: datetime | None = None) -> tuple[Progress, list[str]]:
    """The learner's progress under GRADQUIZ_HOME, and what they should be told about it."""
    opened = open_store(locations.home(), now)
    configured = settings.load()
    problems = [configured.new_per_day_problem, configured.retention_problem]
    notices = [*opened.notices, *(p for p in problems if p)]
    scheduler = Scheduler(desired_retention=configured.retention)
    return Progress(opened.store, scheduler, configured.new_per_day), notices
