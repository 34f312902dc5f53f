"""A real install: the wheel, installed into a new virtual environment and used from outside
the checkout, carries every module and the bundled packs, lists them and starts the app."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from gradquiz import locations
from gradquiz.format.schema import json_schema
from tests.terminal import read_until, rest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    outside: Path  # a working directory with no checkout above it

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            cwd=self.outside,
            env=_clean_env(self.outside),
            timeout=300,
        )


def _clean_env(outside: Path) -> dict[str, str]:
    """No PYTHONPATH, no virtualenv of the checkout, data in a throwaway home."""
    keep = ("PATH", "HOME", "LANG", "PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["GRADQUIZ_HOME"] = str(outside / "home")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel built from this checkout, installed with its pinned dependencies into a new
    virtual environment, as `pip install gradquiz` would leave it. About 30 s, most of it
    pip unpacking torch from the local wheels."""
    base = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools keeps a build/ directory that would go stale in the tree.
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "gradquiz", "questions"):
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip"]
    build = [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(base / "dist"), str(source)], check=True, capture_output=True)
    [wheel] = (base / "dist").glob("gradquiz-*.whl")
    outside = base / "outside"
    outside.mkdir()
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    constraints = str(ROOT / "constraints.txt")
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", constraints, str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        cwd=outside,
        env=_clean_env(outside),
    )
    assert done.returncode == 0, done.stderr
    return Installed(wheel, venv, outside)


def _source_modules() -> list[str]:
    """Every module of the checkout's gradquiz, by import name (`__main__` runs the program)."""
    found = []
    for path in sorted((ROOT / "gradquiz").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_wheel_carries_the_bundled_packs_and_the_schema(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    shipped = {Path(n).name for n in names if "/questions/" in n}
    assert shipped == {p.name for p in (ROOT / "questions").glob("*.yaml")}
    # Editors read the schema from the installed package (see `gradquiz new`).
    assert "gradquiz/format/question.schema.json" in names
    assert "gradquiz/tui/app.tcss" in names


def test_every_module_imports_from_the_installed_wheel(installed: Installed) -> None:
    modules = _source_modules()
    assert "gradquiz.tui.screens.quiz" in modules and "gradquiz.progress.store" in modules
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    module = importlib.import_module(name)\n"
        "    print(name, module.__file__)\n"
    )
    done = installed.run(installed.python, "-c", code, *modules)
    assert done.returncode == 0, done.stderr
    site = str(installed.venv)
    printed = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert list(printed) == modules
    # The wheel's own files, not this checkout's.
    assert all(file.startswith(site) for file in printed.values()), printed


def test_installed_gradquiz_lists_the_bundled_questions(installed: Installed) -> None:
    from gradquiz.format import load

    gradquiz = str(installed.venv / "bin" / "gradquiz")
    done = installed.run(gradquiz, "list", "--json")
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    expected = load([ROOT / "questions"]).questions
    assert [i["id"] for i in items] == [q.id for q in expected]
    assert {Path(i["file"]).parent for i in items} == {
        installed.venv
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
        / "gradquiz"
        / "questions"
    }
    plain = installed.run(gradquiz, "list")
    assert plain.returncode == 0, plain.stderr
    assert [line.split("\t")[0] for line in plain.stdout.splitlines()] == [q.id for q in expected]


def test_installed_gradquiz_exports_a_notebook_and_asks_for_the_extra_to_run_it(
    installed: Installed,
) -> None:
    gradquiz = str(installed.venv / "bin" / "gradquiz")
    pack = str(ROOT / "tests" / "packs" / "good.yaml")
    done = installed.run(gradquiz, "export", pack, "--format", "ipynb")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)["cells"][1]["source"]
    # The helper's source comes out of the installed package.
    assert "def run_variant(" in "".join(first)
    executed = installed.run(gradquiz, "export", pack, "--format", "ipynb", "--execute")
    assert executed.returncode == 2
    assert "--execute needs nbclient: pip install 'gradquiz[notebook]'" in executed.stderr


def test_installed_gradquiz_speaks_chinese(installed: Installed) -> None:
    """The compiled catalogue ships in the wheel (not its .po source), and is the one read."""
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "gradquiz/locale/zh/LC_MESSAGES/gradquiz.mo" in names
    assert not [n for n in names if n.endswith(".po")]
    gradquiz = str(installed.venv / "bin" / "gradquiz")
    done = installed.run(gradquiz, "--lang", "zh", "run", "no-such-question")
    assert done.returncode == 2
    assert done.stderr == "gradquiz: 没有 id 为 'no-such-question' 的题\n"


def test_installed_app_draws_its_first_question(installed: Installed) -> None:
    from gradquiz.format import load

    first = load([ROOT / "questions"]).questions[0]
    env = {**_clean_env(installed.outside), "TERM": "xterm-256color"}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "gradquiz")],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=installed.outside,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = read_until(master, first.title.get().encode(), seconds=120)
        assert b"Traceback" not in seen
        os.write(master, b"\x11")  # ctrl+q
        rest(master)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)


def test_bundled_packs_match_the_published_schema() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(locations.bundled_questions().glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        jsonschema.validate(json.loads(json.dumps(document)), schema)


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    question = {"id": "q", "type": "single", "title": "t", "prompt": "p", "topic": "t"}
    bad = [
        {**question, "colour": "red"},
        {**question, "id": "Not A Slug"},
        {**question, "difficulty": 4},
        {**question, "type": "essay"},
    ]
    for document in bad:
        assert not jsonschema.Draft202012Validator(schema).is_valid(document), document
