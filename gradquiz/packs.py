"""Where packs come from, and whether their code may run. No textual, no torch.

Packs come from four places: the bundled ones and those named on the command line run by that
act; those found through GRADQUIZ_PATH or the settings file run once the learner trusts them
(`trust.TrustStore`), for as long as the file's bytes stay the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from gradquiz import locations, settings
from gradquiz.format import Library, Problem, Question, load, load_first
from gradquiz.format.model import PackInfo
from gradquiz.i18n import _
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
        configured_settings = settings.load()
        problems = list(configured_settings.problems)
        found.extend(Source(path, "settings") for path in configured_settings.packs)
    return found, problems


def discover(
    named: Sequence[Path] = (),
    *,
    bundled: bool = True,
    configured: bool = True,
    store: TrustStore | None = None,
) -> Catalog:
    """Load every pack the sources name. `configured` adds GRADQUIZ_PATH and the settings."""
    found, settings_problems = sources(named, bundled=bundled, configured=configured)
    library = load([source.path for source in found])
    return _catalog(library, found, settings_problems, store)


def discover_first(
    named: Sequence[Path] = (),
    question_id: str | None = None,
    *,
    bundled: bool = True,
    store: TrustStore | None = None,
) -> Catalog:
    """As `discover`, but only the files up to the one holding `question_id` (any question,
    if None) are read; the library's `load_rest` reads the others (see `load_first`)."""
    found, settings_problems = sources(named, bundled=bundled, configured=True)
    library = load_first([source.path for source in found], question_id)
    return _catalog(library, found, settings_problems, store)


def _catalog(
    library: Library,
    found: list[Source],
    settings_problems: list[Problem],
    store: TrustStore | None,
) -> Catalog:
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
            message = _("{file} changed since it was trusted, so its code does not run")
            return message.format(file=pack.file)
        if self.origin(pack.file) == "settings":
            message = _(
                "{file} was found through the settings file {settings} and is not trusted, "
                "so its code does not run"
            )
            return message.format(file=pack.file, settings=locations.settings_file())
        message = _(
            "{file} was found through GRADQUIZ_PATH and is not trusted, so its code does not run"
        )
        return message.format(file=pack.file)

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
        return _("{file} is not trusted, so its code does not run").format(file=pack.file)

    def notices(self) -> list[str]:
        return []


def as_policy(trusted: Callable[[Question], bool] | TrustPolicy, library: Library) -> TrustPolicy:
    return FixedTrust(trusted, library) if callable(trusted) else trusted
