"""Where packs come from, and whether their code may run. No textual, no torch.

Packs come from four places: the bundled ones and those named on the command line run by that
act; those found through GRADQUIZ_PATH or the settings file run once the learner trusts them
(`trust.TrustStore`), for as long as the file's bytes stay the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from gradquiz import locations
from gradquiz.format import Library, Location, Problem, Question, load, load_first
from gradquiz.format.model import PackInfo
from gradquiz.trust import TrustNotSaved, TrustStore, code_snippets, key

Origin = Literal["bundled", "command line", "GRADQUIZ_PATH", "settings"]
TrustState = Literal["always trusted", "trusted", "changed since trusted", "not trusted"]
ALWAYS_TRUSTED: frozenset[Origin] = frozenset({"bundled", "command line"})
RUNS: frozenset[TrustState] = frozenset({"always trusted", "trusted"})


@dataclass(frozen=True)
class Source:
    path: Path
    origin: Origin


@dataclass(frozen=True)
class PackSummary:
    """What a learner needs to decide whether to trust a pack."""

    file: str
    origin: Origin
    state: TrustState
    title: str | None
    authors: tuple[str, ...]
    questions: int
    snippets: int
    sha256: str


def summarize(
    pack: PackInfo, questions: Sequence[Question], origin: Origin, state: TrustState
) -> PackSummary:
    return PackSummary(
        file=pack.file,
        origin=origin,
        state=state,
        title=pack.title.get() if pack.title else None,
        authors=pack.authors,
        questions=len(questions),
        snippets=sum(len(code_snippets(q)) for q in questions),
        sha256=pack.sha256,
    )


def read_settings(file: Path) -> tuple[list[Path], list[Problem]]:
    """The packs a settings file lists, and what is wrong with it. A broken file costs its
    packs, never the start of gradquiz."""
    name = str(file)
    try:
        raw = file.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    except OSError as exc:
        return [], [Problem(Location(name), f"cannot read the settings file: {exc.strerror}")]
    import tomllib  # here: most learners have no settings file, and start-up is timed

    try:
        text = raw.decode("utf-8")
        settings = tomllib.loads(text)
    except UnicodeDecodeError:
        return [], [
            Problem(Location(name), "the settings file is not UTF-8; its packs are ignored")
        ]
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _toml_error(str(exc), text)
        return [], [
            Problem(
                Location(name, line, column),
                f"the settings file is not valid TOML ({message}); its packs are ignored",
            )
        ]
    listed = settings.get("packs", [])
    where = Location(name, _line_of_key(text, "packs"), 1)
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        example = 'packs = ["~/course/week1.yaml", "/abs/dir"]'
        return [], [Problem(where, f"'packs' must be a list of paths, e.g. {example}")]
    paths: list[Path] = []
    problems: list[Problem] = []
    for entry in listed:
        path = Path(entry).expanduser()
        # Relative to the settings file, so the file means the same from any working directory.
        path = path if path.is_absolute() else file.parent / path
        if path.exists():
            paths.append(path)
        else:
            problems.append(Problem(where, f"packs: {entry!r} ({path}): no such file or directory"))
    return paths, problems


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


def sources(
    named: Sequence[Path], *, bundled: bool = True, configured: bool = True
) -> tuple[list[Source], list[Problem]]:
    """Every place to load packs from, in load order, and the settings file's problems.

    Earlier sources win a file found twice, so a pack named on the command line stays trusted
    when GRADQUIZ_PATH lists it too.
    """
    found = [Source(locations.bundled_questions(), "bundled")] if bundled else []
    found.extend(Source(path, "command line") for path in named)
    problems: list[Problem] = []
    if configured:
        found.extend(Source(path, "GRADQUIZ_PATH") for path in locations.environment_paths())
        listed, problems = read_settings(locations.settings_file())
        found.extend(Source(path, "settings") for path in listed)
    return found, problems


def discover(
    named: Sequence[Path] = (),
    *,
    bundled: bool = True,
    configured: bool = True,
    store: TrustStore | None = None,
    first: str | None = None,
) -> Catalog:
    """Load every pack the sources name. `configured` adds GRADQUIZ_PATH and the settings.

    With `first` (a question id, or "" for any), only the files up to the one holding it are
    read; the library's `load_rest` reads the others (see `load_first`)."""
    found, settings_problems = sources(named, bundled=bundled, configured=configured)
    paths = [source.path for source in found]
    library = load(paths) if first is None else load_first(paths, first)
    library.problems[:0] = settings_problems
    return Catalog(library, found, store or TrustStore.load(), settings_problems)


@dataclass
class Catalog:
    """What was loaded, where each pack came from, and which of it may run."""

    library: Library
    sources: list[Source] = field(default_factory=list)
    store: TrustStore = field(default_factory=TrustStore.load)
    settings_problems: list[Problem] = field(default_factory=list)
    # Trust given while the store could not be written: (file key, sha256), for this run only.
    unsaved: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Both spellings: a symlink inside a listed directory resolves to somewhere outside it.
        self._roots = [
            (root, s.origin)
            for s in self.sources
            for root in (s.path.absolute(), Path(key(s.path)))
        ]
        self._origins: dict[str, Origin] = {}
        # The app asks on every footer refresh: resolve each file once, not once per question.
        self._keys: dict[str, str] = {}

    def key(self, file: str) -> str:
        if file not in self._keys:
            self._keys[file] = key(file)
        return self._keys[file]

    def origin(self, file: str) -> Origin:
        if file not in self._origins:
            spellings = (Path(file).absolute(), Path(key(file)))
            self._origins[file] = next(
                (
                    origin
                    for root, origin in self._roots
                    for path in spellings
                    if path == root or root in path.parents
                ),
                # Never reached for a loaded file; if it were, the pack would not run unasked.
                "GRADQUIZ_PATH",
            )
        return self._origins[file]

    def state(self, pack: PackInfo) -> TrustState:
        if self.origin(pack.file) in ALWAYS_TRUSTED:
            return "always trusted"
        if not pack.sha256:
            return "not trusted"
        if (self.key(pack.file), pack.sha256) in self.unsaved:
            return "trusted"
        recorded = self.store.packs.get(self.key(pack.file))
        if recorded is None:
            return "not trusted"
        return "trusted" if recorded == pack.sha256 else "changed since trusted"

    def trusted(self, question: Question) -> bool:
        return self.state(question.pack) in RUNS

    def trust(self, pack: PackInfo) -> None:
        """Trust the pack as it was loaded. Raises TrustNotSaved when that cannot be written:
        it then holds for this catalog's life only."""
        try:
            self.store.record(pack.file, pack.sha256)
        except TrustNotSaved:
            self.unsaved.add((self.key(pack.file), pack.sha256))
            raise

    def questions_of(self, pack: PackInfo) -> list[Question]:
        return [q for q in self.library.questions if q.pack.file == pack.file]

    def summary(self, pack: PackInfo) -> PackSummary:
        origin, state = self.origin(pack.file), self.state(pack)
        return summarize(pack, self.questions_of(pack), origin, state)

    def why_not(self, pack: PackInfo) -> str:
        """Why the pack's code does not run, in a sentence that says how to change that."""
        state = self.state(pack)
        if state == "changed since trusted":
            return f"{pack.file} changed since it was trusted, so its code does not run"
        origin = self.origin(pack.file)
        where = (
            f"the settings file {locations.settings_file()}"
            if origin == "settings"
            else "GRADQUIZ_PATH"
        )
        return f"{pack.file} was found through {where} and is not trusted, so its code does not run"

    def notices(self) -> list[str]:
        """Problems with the learner's own files that did not stop gradquiz but cost something."""
        told = [str(problem) for problem in self.settings_problems]
        if self.store.problem is not None:
            told.append(self.store.problem)
        return told


class TrustPolicy(Protocol):
    """What the app asks about trust; `Catalog` is the real one."""

    # Replaced by the app when the files left for after the first paint have been read.
    library: Library

    def trusted(self, question: Question) -> bool: ...

    def trust(self, pack: PackInfo) -> None: ...

    def summary(self, pack: PackInfo) -> PackSummary: ...

    def why_not(self, pack: PackInfo) -> str: ...

    def notices(self) -> list[str]: ...


class FixedTrust:
    """Trust decided by a function (tests, embedding); trust given later lasts for its life."""

    def __init__(self, decide: Callable[[Question], bool], library: Library) -> None:
        self.decide = decide
        self.library = library
        self.given: set[str] = set()

    def trusted(self, question: Question) -> bool:
        return question.pack.file in self.given or self.decide(question)

    def trust(self, pack: PackInfo) -> None:
        self.given.add(pack.file)

    def summary(self, pack: PackInfo) -> PackSummary:
        questions = [q for q in self.library.questions if q.pack.file == pack.file]
        runs = any(self.trusted(q) for q in questions)
        return summarize(pack, questions, "GRADQUIZ_PATH", "trusted" if runs else "not trusted")

    def why_not(self, pack: PackInfo) -> str:
        return f"{pack.file} is not trusted, so its code does not run"

    def notices(self) -> list[str]:
        return []


def as_policy(trusted: Callable[[Question], bool] | TrustPolicy, library: Library) -> TrustPolicy:
    return FixedTrust(trusted, library) if callable(trusted) else trusted
