"""Question files -> a library: files found and read in order, each parsed once per content.

Parsing (and PyYAML with it) is imported only when a file is not in the cache (see `cache`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gradquiz.files import Unreadable, dangling, kind, read_regular
from gradquiz.format import cache
from gradquiz.format.model import PackInfo, Question
from gradquiz.format.problems import Location, Problem
from gradquiz.i18n import _

SUFFIXES = (".yaml", ".yml")
# Checked before a file is read, and read no further than this.
MAX_FILE_BYTES = 1024 * 1024
PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass
class Library:
    """Everything loaded, in order: the questions, what was wrong, and the files read.

    A library from `load_first` has not read its `pending` files yet; `load_rest` reads them.
    """

    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # One per file in `files`, also for a file none of whose questions loaded.
    packs: list[PackInfo] = field(default_factory=list)
    pending: list[Path] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.pending

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def load_rest(self) -> Library:
        """A new, complete library: these questions first, then the pending files'.

        This one is left as it is, so the app can keep reading it while a thread runs this.
        """
        done = Library(
            list(self.questions), list(self.problems), list(self.files), list(self.packs)
        )
        return _read(done, self.pending)


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand directories into their question files, in sorted path order.

    What cannot be a pack (a FIFO, a device, a dangling link, a directory that cannot be
    listed, a pseudo file system) is a problem located at it, and costs only itself.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        try:
            mode = path.stat().st_mode
        except OSError:
            problems.append(Problem(Location(str(path)), _missing(path)))
            continue
        if stat.S_ISDIR(mode):
            files, walked = _walk(path)
            found.extend(files)
            problems.extend(walked)
        elif stat.S_ISREG(mode):
            found.append(path)
        else:
            message = _("is {kind}, not a question file").format(kind=kind(mode))
            problems.append(Problem(Location(str(path)), message))
    return found, problems


def _missing(path: Path) -> str:
    return dangling(path) or _("no such file or directory")


def _walk(root: Path) -> tuple[list[Path], list[Problem]]:
    """The question files under `root`; symbolic links to directories are not followed."""
    found: list[Path] = []
    problems: list[Problem] = []

    def unlisted(exc: OSError) -> None:
        where = str(exc.filename or root)
        message = _("cannot list: {reason}").format(reason=exc.strerror or exc)
        problems.append(Problem(Location(where), message))

    for directory, subdirectories, names in os.walk(root, onerror=unlisted):
        here = Path(directory)
        if _pseudo(here):
            message = _("is a pseudo file system of the kernel; no packs are read from it")
            problems.append(Problem(Location(directory), message))
            subdirectories.clear()
            continue
        subdirectories.sort()
        for name in names:
            path = here / name
            if path.suffix not in SUFFIXES:
                continue
            try:
                mode = path.stat().st_mode
            except OSError:
                problems.append(Problem(Location(str(path)), _missing(path)))
                continue
            if stat.S_ISREG(mode):
                found.append(path)
            else:
                message = _("is {kind}, not a question file; skipped").format(kind=kind(mode))
                problems.append(Problem(Location(str(path)), message))
    return sorted(found), sorted(problems)


def _pseudo(directory: Path) -> bool:
    """/proc, /sys and /dev: endless, changing as they are read, and full of files that block."""
    resolved = directory.resolve()
    return any(resolved == root or root in resolved.parents for root in PSEUDO_ROOTS)


def load(paths: Iterable[str | Path]) -> Library:
    files, problems = find_files(paths)
    return _read(Library(problems=problems), files)


def load_first(paths: Iterable[str | Path], question_id: str | None = None) -> Library:
    """The files up to the first with a question (with `question_id`, if given): enough to
    show it. The others stay `pending`; `load_rest` reads them. When no file read has the
    question, every file has been read, as by `load`."""
    files, problems = find_files(paths)

    def found(ids: Container[str]) -> bool:
        return question_id in ids if question_id else bool(ids)

    return _read(Library(problems=problems), files, stop=found)


def _read(
    library: Library, files: list[Path], stop: Callable[[Container[str]], bool] | None = None
) -> Library:
    """Add `files` to `library` in order, the first definition of an id winning; with
    `stop`, leave the files after the first that makes it true of the ids read `pending`."""
    first_seen = {q.id: q.where("id") for q in library.questions}
    seen_files = {Path(name).resolve() for name in library.files}
    for index, path in enumerate(files):
        if path.resolve() in seen_files:
            continue
        seen_files.add(path.resolve())
        library.files.append(str(path))
        pack, questions, file_problems = load_pack(path)
        library.packs.append(pack)
        library.problems.extend(file_problems)
        for question in questions:
            if question.id in first_seen:
                library.problems.append(
                    Problem(
                        question.where("id"),
                        _("duplicate question id {id}, first defined at {where}").format(
                            id=repr(question.id), where=first_seen[question.id]
                        ),
                    )
                )
                continue
            first_seen[question.id] = question.where("id")
            library.questions.append(question)
        if stop is not None and stop(first_seen.keys()):
            library.pending = files[index + 1 :]
            return library
    library.pending = []
    return library


def load_pack(path: Path) -> tuple[PackInfo, list[Question], list[Problem]]:
    """A file's pack, its questions and problems; the pack carries the SHA-256 of the very
    bytes parsed, so trust given to that hash covers exactly the code shown and run."""
    name = str(path)
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except Unreadable as exc:
        return PackInfo(name), [], [Problem(Location(name), f"{exc}")]
    sha256 = hashlib.sha256(data).hexdigest()
    parsed = cache.get(name, sha256)
    if parsed is None:
        from gradquiz.format.loader import parse_pack

        parsed = parse_pack(name, data, sha256)
        cache.put(name, sha256, parsed)
    return parsed
