"""Hostile packs and directories: nothing runs that should not, nothing outlives its run.

Every test here is bounded in time and processes and cleans up after itself when it fails:
`leftovers` kills whatever a test's snippets left behind before it asserts they are gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write

GRADQUIZ = Path(sys.executable).parent / "gradquiz"
TAG = "GRADQUIZ_HOSTILE_TEST"


def pack(body: str, *, watch: str = "{n: step}", timeout: float = 5, extra: str = "") -> str:
    """One question whose experiment runs `body`; `extra` adds keys to the question."""
    code = "\n".join(f"        {line}" for line in body.splitlines())
    return f"""\
pack:
  title: Hostile
questions:
  - id: hostile
    type: numeric
    title: Hostile
    prompt: What is n?
    topic: hostile
    experiment:
      timeout: {timeout}
      code: |
{code}
      watch: {watch}
{extra}    answer: {{expr: "1", value: 1}}
"""


def tagged_processes(tag: str) -> list[int]:
    """Processes whose environment carries `tag` (every process our snippets start does)."""
    found = []
    needle = f"{TAG}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
                if state != b"Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def leftovers(request: pytest.FixtureRequest) -> Iterator[str]:
    """A tag for this test's processes; whatever carries it at the end is killed."""
    tag = f"{os.getpid()}-{request.node.name}"
    yield tag
    for pid in tagged_processes(tag):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def gradquiz_in(
    cwd: Path, *args: str, tag: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed command, started in `cwd` as a learner would start it there."""
    env = {**os.environ, TAG: tag}
    return subprocess.run(
        [str(GRADQUIZ), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def settled(tag: str, seconds: float = 5) -> list[int]:
    """The tagged processes still alive once `seconds` have passed (or none are left)."""
    deadline = time.monotonic() + seconds
    while (alive := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def test_modules_in_the_current_directory_never_run(tmp_path: Path, leftovers: str) -> None:
    marker = tmp_path / "ran"
    for name in ("json", "struct", "torch", "gradquiz"):
        write(tmp_path, f"{name}.py", f"open({str(marker)!r}, 'a').write('{name} ')\n")
    write(tmp_path, "course/q.yaml", pack("x = 1"))
    done = gradquiz_in(tmp_path, "run", "--questions", "course/q.yaml", "hostile", tag=leftovers)
    assert done.returncode == 0, done.stderr
    assert "hostile" in done.stdout and "1" in done.stdout
    assert not marker.exists(), marker.read_text()
