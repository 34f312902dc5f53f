"""Something other than a file where trust.json or settings.toml should be: a clear message,
no hang, no traceback, and gradquiz goes on with what it has."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.cli import main
from tests.conftest import PACKS

GOOD = str(PACKS / "good.yaml")


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A FIFO opened for reading waits for a writer: fail in seconds instead of forever."""

    def hung(*_: object) -> None:
        raise TimeoutError("gradquiz hung on a file in its home")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fifo(path: Path) -> str:
    os.mkfifo(path)
    return "is a FIFO (named pipe), not a file"


def directory(path: Path) -> str:
    path.mkdir()
    return "is a directory, not a file"


def dangling(path: Path) -> str:
    path.symlink_to(path.parent / "elsewhere")
    return f"is a link to {path.parent / 'elsewhere'}, which does not exist"


OBSTACLES: list[Callable[[Path], str]] = [fifo, directory, dangling]


@pytest.fixture
def home() -> Path:
    home = locations.home()
    home.mkdir(parents=True)
    return home


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_settings_file(
    home: Path, obstacle: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    said = obstacle(home / "settings.toml")
    assert main(["list", "--json", "--no-bundled", "--questions", GOOD]) == 0
    captured = capsys.readouterr()
    assert captured.out.count('"id"') == 5
    assert captured.err.splitlines() == [
        "1 problem while loading:",
        f"{home / 'settings.toml'}:1:1: the settings file {said}; its settings are ignored",
    ]


@pytest.mark.parametrize("obstacle", OBSTACLES)
def test_trust_file(
    home: Path, obstacle: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    said = obstacle(home / "trust.json")
    file = home / "trust.json"
    assert main(["packs", "--json", "--no-bundled", "--questions", GOOD]) == 0
    warning = f"gradquiz: warning: {file}: the trust file {said}; no pack is trusted from it"
    assert capsys.readouterr().err.splitlines() == [warning]
    assert main(["trust", GOOD]) == 1
    assert capsys.readouterr().err.splitlines() == [
        warning,
        f"gradquiz: could not save trust to {file}: it {said}; {GOOD} is not trusted",
    ]
    # Nothing of the learner's was moved or replaced.
    assert file.is_symlink() or file.exists()
