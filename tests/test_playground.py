"""The experiment being edited: checked before it runs, sent to the worker, saved as a question."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import yaml

from gradquiz.cli.check import collect
from gradquiz.format import load
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import RunError
from gradquiz.playground import (
    EXAMPLE,
    Experiment,
    Part,
    Problem,
    error_place,
    from_question,
    problem,
    question_id_for,
    request,
    save_question,
)
from tests.conftest import gradquiz
from tests.terminal import read_until, rest

PACKS = Path(__file__).parent / "tui" / "packs"


def test_from_question_takes_the_variants_code_and_the_shared_parts() -> None:
    question = load([PACKS]).get("accumulate")
    assert question is not None
    edited = from_question(question, "B")
    assert edited.code == "(2 * w).sum().backward()\n"
    assert edited.setup == "w = torch.tensor([1.0], requires_grad=True)\n"
    assert (edited.steps, edited.watch) == (3, "w.grad: w.grad\n")


def test_a_syntax_error_is_found_at_its_line_without_running() -> None:
    broken = Experiment(setup="w = 1\n", code="x = 1\nif x\n")
    assert problem(broken) == Problem(Part.CODE, 2, "SyntaxError: expected ':'")
    assert problem(Experiment(setup="a = (\n", code="pass")) == Problem(
        Part.SETUP, 1, "SyntaxError: '(' was never closed"
    )
    assert problem(Experiment("", "pass", watch="w.grad: w.grad\nnot a watch\n")) == Problem(
        Part.WATCH, 2, "write each watch as `label: expression`"
    )
    assert problem(EXAMPLE) is None


def test_a_runtime_errors_line_names_the_text_it_came_from() -> None:
    made = request(EXAMPLE, "q", "yours (from B)")
    assert made.variant == "yours (from B)"
    assert made.watch is not None and [label for label, _ in made.watch] == ["w.grad", "loss"]
    setup_line = made.setup[0].line
    assert error_place(RunError("ValueError", "x", 1, line=2)) == (Part.CODE, 2)
    assert error_place(RunError("ValueError", "x", None, line=setup_line + 3)) == (Part.SETUP, 4)
    assert error_place(RunError("ValueError", "x", 1)) is None


def test_an_edited_run_raises_at_its_step_code_line(lab: Lab) -> None:
    broken = Experiment(setup="w = 1\n", code="x = w\nraise ValueError('boom')\n", steps=2)
    (result,) = lab.run_all([request(broken, "q", "yours")])
    assert result.error is not None and result.error.step == 1
    assert error_place(result.error) == (Part.CODE, 2)


def test_the_saved_question_passes_check_once_filled_in(tmp_path: Path, lab: Lab) -> None:
    path = tmp_path / "My idea.yaml"
    assert save_question(EXAMPLE, path) == "my-idea"
    with pytest.raises(FileExistsError):
        save_question(EXAMPLE, path)
    # As written, it is not a question yet: no prompt, no choices.
    assert load([path]).problems
    document = yaml.safe_load(path.read_text())
    question = document["questions"][0]
    question["prompt"] = "After three steps, what is w.grad?"
    question["choices"] = [{"id": "A", "text": "9"}, {"id": "B", "text": "3"}]
    question["answer"] = "A"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    library = load([path])
    assert not library.problems
    report = collect(library, lambda q: True, lab=lab)
    assert report.problems == [] and report.runs == 1


def test_a_file_name_gives_the_question_id() -> None:
    assert question_id_for(Path("/x/Two Steps!.yml")) == "two-steps"
    assert question_id_for(Path("___.yaml")) == "my-question"


def test_gradquiz_lab_needs_a_terminal() -> None:
    done = gradquiz("lab")
    assert done.returncode == 2
    assert "the playground needs a terminal" in done.stderr


def _in_a_terminal(*args: str, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`gradquiz ARGS` in a 120x40 pseudo-terminal, the test packs found through GRADQUIZ_PATH
    (so not trusted); its output on the returned descriptor."""
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "GRADQUIZ_HOME": str(home),
        "GRADQUIZ_PATH": str(PACKS / "basics.yaml"),
    }
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "gradquiz", "--no-bundled", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return process, master


@pytest.mark.parametrize("answer", ["n", "y"])
def test_gradquiz_lab_on_an_untrusted_pack_asks_first(answer: str, tmp_path: Path) -> None:
    process, master = _in_a_terminal("lab", "accumulate", home=tmp_path)
    try:
        read_until(master, b"Trust this pack and run its code?")
        os.write(master, answer.encode())
        if answer == "n":
            said = rest(master)
            assert process.wait(timeout=30) == 2
            assert b"is not trusted, so its code does not run; nothing was shown or run" in said
            assert b"Playground" not in said
            assert not (tmp_path / "trust.json").exists()
            return
        read_until(master, b"Press ctrl+r to run.")
        trusted = json.loads((tmp_path / "trust.json").read_text())["packs"]
        assert list(trusted) == [str((PACKS / "basics.yaml").resolve())]
        os.write(master, b"\x11")  # ctrl+q
        rest(master)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
