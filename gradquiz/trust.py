"""Which pack files the learner trusts to run: SHA-256 of each file's bytes, by resolved path.

Any edit to a file changes its hash and so withdraws its trust. The store is one small JSON file
under `locations.home()`; it is written atomically, and a store that cannot be read or written
never stops gradquiz: it says so, and trust then holds only as long as the caller keeps it.
No textual, no torch.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gradquiz import locations
from gradquiz.files import Missing, Unreadable, dangling, kind, read_regular
from gradquiz.format.model import Code, NumericAnswer, Question
from gradquiz.i18n import _

FILE_NAME = "trust.json"
VERSION = 1
# Some hundred bytes a pack: far more packs than anyone trusts.
MAX_BYTES = 16 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class TrustNotSaved(Exception):
    """Trust was recorded in memory but could not be written to the store's file."""


def store_file() -> Path:
    return locations.home() / FILE_NAME


def key(path: str | Path) -> str:
    """Trust belongs to the file, however it was named: a relative path, a symlink, `~`."""
    return str(Path(path).expanduser().resolve())


@dataclass
class TrustStore:
    file: Path
    # Resolved path -> SHA-256 (hex) of the bytes trusted.
    packs: dict[str, str] = field(default_factory=dict)
    # Why the file could not be used, when it could not; the store then starts empty.
    problem: str | None = None

    @classmethod
    def load(cls, file: Path | None = None) -> TrustStore:
        file = store_file() if file is None else file
        packs, problem = _read(file)
        return cls(file, packs, problem)

    def sha256(self, path: str | Path) -> str | None:
        return self.packs.get(key(path))

    def record(self, path: str | Path, sha256: str) -> None:
        """Trust `path` with these contents. Raises TrustNotSaved when the file cannot be
        written; the trust still holds in this store."""
        self._commit(added={key(path): sha256}, removed=set())

    def forget(self, path: str | Path) -> dict[str, str]:
        """Withdraw trust from a file, or from every file under a directory; what was removed.
        Raises TrustNotSaved as `record` does."""
        root = key(path)
        inside = root.rstrip(os.sep) + os.sep
        removed = {k: v for k, v in self.packs.items() if k == root or k.startswith(inside)}
        if removed:
            self._commit(added={}, removed=set(removed))
        return removed

    def _commit(self, added: dict[str, str], removed: set[str]) -> None:
        # Another gradquiz may have changed the file since this one read it: apply the change
        # to what is there now, so neither loses the other's trust.
        on_disk, problem = _read(self.file)
        merged = dict(self.packs) if problem is not None else on_disk
        for gone in removed:
            merged.pop(gone, None)
        merged.update(added)
        self.packs = merged
        self._save(merged, keep_broken=problem is not None and self.file.exists())

    def _save(self, packs: dict[str, str], keep_broken: bool) -> None:
        document = {
            "version": VERSION,
            "packs": {k: {"sha256": v} for k, v in sorted(packs.items())},
        }
        obstacle = _obstacle(self.file)
        if obstacle is not None:
            # Not a file of ours to replace: a FIFO, a directory or a link someone made.
            message = _("could not save trust to {file}: it {obstacle}")
            raise TrustNotSaved(message.format(file=self.file, obstacle=obstacle))
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            if keep_broken:
                # A hand-edited file that went wrong is kept for its owner, not overwritten.
                self.file.replace(self.file.with_name(self.file.name + ".corrupt"))
            _write_atomically(self.file, json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = _("could not save trust to {file}: {reason}")
            raise TrustNotSaved(message.format(file=self.file, reason=reason)) from exc


def _read(file: Path) -> tuple[dict[str, str], str | None]:
    try:
        text = read_regular(file, MAX_BYTES).decode("utf-8")
    except Missing:
        # Nothing trusted yet, or no home at all: saving will say whether it can be made.
        return {}, None
    except (Unreadable, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, Unreadable) else _("is not UTF-8")
        message = _("{file}: the trust file {reason}; no pack is trusted from it")
        return {}, message.format(file=file, reason=reason)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        message = _(
            "{where}: the trust file is not valid JSON ({reason}); "
            "no pack is trusted from it until it is fixed or a pack is trusted again"
        )
        return {}, message.format(where=f"{file}:{exc.lineno}:{exc.colno}", reason=exc.msg)
    packs = document.get("packs") if isinstance(document, dict) else None
    if not isinstance(packs, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) and _SHA256.fullmatch(v["sha256"])
        for v in packs.values()
    ):
        message = _("{file}: the trust file does not hold {shape}; no pack is trusted from it")
        return {}, message.format(file=file, shape='{"packs": {PATH: {"sha256": HEX}}}')
    return {k: v["sha256"] for k, v in packs.items()}, None


def _obstacle(file: Path) -> str | None:
    """Why `file` must not be replaced, if something other than a file (or nothing) is there."""
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        return dangling(file)
    except OSError:
        return None  # writing will say what is wrong
    return None if stat.S_ISREG(mode) else _("is {kind}, not a file").format(kind=kind(mode))


def _write_atomically(file: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    import tempfile  # only when trust is given: not on the app's start-up path

    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(file)  # atomic: os.replace
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def code_snippets(question: Question) -> list[Code]:
    """Every piece of the question's Python that trusting its pack lets run."""
    experiment = question.experiment
    if experiment is None:
        return []
    found = [experiment.setup, experiment.code]
    found.extend(code for _label, code in experiment.watch or ())
    for choice in question.choices:
        found.extend((choice.code, choice.setup))
    if question.type == "order":
        found.append(question.arrangement(question.lines))
    if isinstance(question.answer, NumericAnswer):
        found.append(question.answer.expr)
    if question.verify is not None:
        found.append(question.verify.expr)
    return [code for code in found if code is not None]
