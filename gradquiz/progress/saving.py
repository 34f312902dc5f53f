"""Writing an answer when the disk or the database pushes back: retried, then explained.

No textual, no torch. A full disk, a database locked past its busy timeout or a directory that
is gone are each worth a second try a moment later; what still fails is told to the learner in
words, never as a traceback.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from gradquiz.i18n import _

T = TypeVar("T")

# Pauses between attempts: a lock held by another gradquiz is gone within them, a full disk not.
PAUSES = (0.2, 1.0)


def retried(
    action: Callable[[], T],
    pauses: tuple[float, ...] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`action`'s result, trying again after each pause (PAUSES by default) while it fails to
    write; the last attempt's error is raised."""
    for pause in PAUSES if pauses is None else pauses:
        try:
            return action()
        except (OSError, sqlite3.Error):
            sleep(pause)
    return action()


def why_not_saved(exc: BaseException) -> str:
    """What stopped the write, as the learner should read it."""
    if isinstance(exc, sqlite3.Error):
        name = str(getattr(exc, "sqlite_errorname", ""))
        if name.startswith("SQLITE_FULL"):
            return _("the disk is full")
        if name.startswith("SQLITE_BUSY") or "locked" in str(exc):
            return _("the progress file is locked by another program")
        if name.startswith("SQLITE_READONLY"):
            return _("the progress file is read-only")
        return _("the database said: {error}").format(error=exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return _("the disk is full")
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"{type(exc).__name__}: {exc}"
