"""Daily copies of the progress database, thinned to a week of days, five weeks, a year of months.

No textual, no torch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradquiz.progress.store import Store

BACKUPS = "backups"
BACKUP_EVERY = timedelta(days=1)


def backup_name(moment: datetime) -> str:
    return f"progress-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.sqlite3"


def backup_time(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name, "progress-%Y%m%dT%H%M%SZ.sqlite3").replace(tzinfo=UTC)
    except ValueError:
        return None


def thin(moments: Sequence[datetime], now: datetime) -> set[datetime]:
    """The backups to keep: the newest of each of the last 7 days, 5 weeks and 12 months."""
    keep: set[datetime] = set()
    for span, bucket in (
        (timedelta(days=7), lambda m: m.date()),
        (timedelta(weeks=5), lambda m: m.isocalendar()[:2]),
        (timedelta(days=366), lambda m: (m.year, m.month)),
    ):
        newest: dict[object, datetime] = {}
        for moment in moments:
            if now - moment <= span:
                key = bucket(moment)
                if key not in newest or moment > newest[key]:
                    newest[key] = moment
        keep.update(newest.values())
    if moments:
        keep.add(max(moments))
    return keep


def backup_if_due(store: Store, directory: Path, now: datetime) -> Path | None:
    """Copy the database once a day while it holds answers; thin the older copies."""
    try:
        directory.mkdir(exist_ok=True)
        existing = {t: p for p in directory.iterdir() if (t := backup_time(p)) is not None}
        if existing and now - max(existing) < BACKUP_EVERY:
            return None
        if store.answer_count() == 0:
            return None
        target = directory / backup_name(now)
        store.backup_to(target)
        existing[now] = target
        keep = thin(list(existing), now)
        for moment, path in existing.items():
            if moment not in keep:
                path.unlink(missing_ok=True)
        return target
    except (OSError, sqlite3.Error):
        # A backup that cannot be made must not stop the learner; the next start tries again.
        return None
