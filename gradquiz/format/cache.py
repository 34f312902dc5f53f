"""Parsed question files, kept between runs.

Parsing a file means importing PyYAML and checking every field: for the first pack that is
about 35 ms of the app's first paint. So what parsing gave is pickled, one file per question
file, and used again while four things stay the same: the bytes read (by their SHA-256, the
hash trust uses, so a cached pack is never more trusted than its file), the path they were read
under (problems name it), the code of this `format` package, and the interface's language and
catalogue (problems are written in it, see `gradquiz.i18n`). Anything else, including a
cache file that cannot be read or unpickled, means parsing afresh.

The cache lives in the learner's own directories, beside the trust store; pickles, like Python's
own `__pycache__`, are as trusted as the directory that holds them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gradquiz import __version__, i18n, locations

if TYPE_CHECKING:
    from gradquiz.format.model import PackInfo, Question
    from gradquiz.format.problems import Problem

    Parsed = tuple[PackInfo, list[Question], list[Problem]]


@functools.cache
def code_version() -> str:
    """This format package's code as installed: its modules' sizes and modification times."""
    package = Path(__file__).parent
    stamps = [__version__]
    for module in sorted(package.glob("*.py")):
        info = module.stat()
        stamps.append(f"{module.name}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(stamps)


def entry(name: str) -> Path:
    """The cache file for the question file read as `name`: one per path, overwritten."""
    digest = hashlib.sha256(str(Path(name).absolute()).encode()).hexdigest()[:32]
    return locations.cache_dir() / f"{digest}.pickle"


def get(name: str, sha256: str) -> Parsed | None:
    try:
        with entry(name).open("rb") as file:
            key, parsed = pickle.load(file)
    except FileNotFoundError:
        return None
    # A cache file cut short, from an older gradquiz or garbled fails in many ways (EOFError,
    # UnpicklingError, AttributeError for a class since renamed...): each one is a miss.
    except Exception:
        return None
    if key != (code_version(), i18n.stamp(), name, sha256):
        return None
    return parsed  # type: ignore[no-any-return]  # pickled by `put`, key checked


def put(name: str, sha256: str, parsed: Parsed) -> None:
    """Store `parsed`; a cache that cannot be written is skipped (a read-only home, say)."""
    target = entry(name)
    # Named by process and thread, so two writers never share a half-written file.
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as file:
            key = (code_version(), i18n.stamp(), name, sha256)
            pickle.dump((key, parsed), file, pickle.HIGHEST_PROTOCOL)
        # Atomic: another gradquiz reading the entry sees the old file or the new, whole.
        partial.replace(target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
