from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gradquiz.lab.client import Lab

PACKS = Path(__file__).parent / "packs"


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the learner's real data and environment out of every test."""
    monkeypatch.setenv("GRADQUIZ_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRADQUIZ_PATH", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    # A developer's own locale must not turn the interface Chinese under the tests' feet.
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Every test starts in English; one that switches the interface to another language
    (`--lang zh`, `i18n.use`) leaves none of it to the next."""
    from gradquiz import i18n

    i18n.use(None)
    yield
    i18n.use(None)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """One warm worker for the whole session: tests pay torch's import once."""
    with Lab(1) as shared:
        yield shared


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def gradquiz(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in its own process, as a user or a script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gradquiz", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture
def warm_cli(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands called in-process (`gradquiz.cli.main`) run their experiments on the
    session's warm lab instead of starting workers and importing torch each time."""
    from gradquiz.cli import common

    @contextmanager
    def shared(size: int, torchvision: bool = False) -> Iterator[Lab]:
        yield lab

    monkeypatch.setattr(common, "open_lab", shared)
