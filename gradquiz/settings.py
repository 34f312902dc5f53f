"""The learner's settings file, read once into a typed `Settings`. No textual, no torch.

`settings.toml` under `locations.home()`, for example:

    packs = ["~/course/week1.yaml", "shared/packs"]
    new_per_day = 10
    retention = 0.9

A broken file costs what it says (its packs, or its daily limit), never the start of gradquiz:
every problem is located and kept in `Settings.problems` for whoever reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gradquiz import locations
from gradquiz.files import Missing, Unreadable, read_regular
from gradquiz.format.problems import Location, Problem
from gradquiz.i18n import _

NEW_PER_DAY = 10
# The chance of remembering a question when it comes back that the schedule aims for (FSRS's
# desired retention): higher brings questions back sooner. Outside these bounds FSRS either
# stops spacing reviews or lets most of them be forgotten.
RETENTION = 0.9
RETENTION_RANGE = (0.7, 0.99)
# A settings file is a few lines; anything this big is not one.
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Settings:
    file: Path
    # Existing paths only, `~` expanded, relative ones read from the file's directory.
    packs: tuple[Path, ...] = ()
    new_per_day: int = NEW_PER_DAY
    # The file's problems that cost packs (a file that cannot be read or parsed costs all).
    problems: tuple[Problem, ...] = ()
    # Told where the daily limit is used (the learner's progress), not with the packs.
    new_per_day_problem: str | None = None
    retention: float = RETENTION
    retention_problem: str | None = None


_read_once: dict[tuple[Path, int, int], Settings] = {}


def load() -> Settings:
    """The settings file under `locations.home()`, read once for as long as it is unchanged."""
    file = locations.settings_file()
    try:
        status = file.stat()
        signature = (file, status.st_mtime_ns, status.st_size)
    except OSError:
        signature = (file, -1, -1)
    if signature not in _read_once:
        _read_once[signature] = read(file)
    return _read_once[signature]


def read(file: Path) -> Settings:
    name = str(file)
    try:
        raw = read_regular(file, MAX_BYTES)
    except Missing:
        return Settings(file)
    except Unreadable as exc:
        message = _("the settings file {reason}; its settings are ignored").format(reason=exc)
        problem = Problem(Location(name), message)
        return Settings(file, problems=(problem,))
    import tomllib  # here: most learners have no settings file, and start-up is timed

    try:
        text = raw.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        message = _("the settings file is not UTF-8; its packs are ignored")
        problem = Problem(Location(name), message)
        return Settings(file, problems=(problem,))
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _toml_error(str(exc), text)
        problem = Problem(
            Location(name, line, column),
            _("the settings file is not valid TOML ({reason}); its packs are ignored").format(
                reason=message
            ),
        )
        return Settings(file, problems=(problem,))
    packs, problems = _packs(file, text, document.get("packs", []))
    limit, limit_problem = _new_per_day(file, document.get("new_per_day", NEW_PER_DAY))
    retention, retention_problem = _retention(file, document.get("retention", RETENTION))
    return Settings(
        file, tuple(packs), limit, tuple(problems), limit_problem, retention, retention_problem
    )


def _packs(file: Path, text: str, listed: object) -> tuple[list[Path], list[Problem]]:
    where = Location(str(file), _line_of_key(text, "packs"), 1)
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        example = 'packs = ["~/course/week1.yaml", "/abs/dir"]'
        message = _("'packs' must be a list of paths, e.g. {example}").format(example=example)
        return [], [Problem(where, message)]
    paths: list[Path] = []
    problems: list[Problem] = []
    for entry in listed:
        path = Path(entry).expanduser()
        # Relative to the settings file, so the file means the same from any working directory.
        path = path if path.is_absolute() else file.parent / path
        if path.exists():
            paths.append(path)
        else:
            message = _("packs: {entry} ({path}): no such file or directory")
            problems.append(Problem(where, message.format(entry=repr(entry), path=path)))
    return paths, problems


def _new_per_day(file: Path, value: object) -> tuple[int, str | None]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        message = _(
            "{file}: new_per_day must be a whole number of questions, 0 or more; using {default}"
        )
        return NEW_PER_DAY, message.format(file=file, default=NEW_PER_DAY)
    return value, None


def _retention(file: Path, value: object) -> tuple[float, str | None]:
    low, high = RETENTION_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        message = _("{file}: retention must be a number from {low} to {high}; using {default}")
        return RETENTION, message.format(file=file, low=low, high=high, default=RETENTION)
    return float(value), None


def _toml_error(message: str, text: str) -> tuple[int, int, str]:
    # tomllib (3.11) puts the position only in the message: "... (at line 3, column 7)".
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is not None:
        return int(found[1]), int(found[2]), message[: found.start()]
    end = " (at end of document)"
    if message.endswith(end):
        last = text.rsplit("\n", maxsplit=1)[-1]
        return text.count("\n") + 1, len(last) + 1, message.removesuffix(end) + " at the end"
    return 1, 1, message


def _line_of_key(text: str, name: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{name}\s*=", line):
            return number
    return 1
