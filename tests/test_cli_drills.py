"""`run --draw K` and `check --draws N` against real runs: the worker gets the drawn values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradquiz.cli import main
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

DRILLS = str(PACKS / "drills.yaml")
PACK = ["--no-bundled", "--questions", DRILLS]


def test_run_a_draw_runs_its_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "scaled-grad", "--draw", "5", "--json", *PACK]) == 0
    document = json.loads(capsys.readouterr().out)
    # Draw 5 is a = 5, w0 = 2: d/dw 5·w² at 2 is 20.
    assert (document["draw"], document["params"], document["answer"]) == (
        5,
        {"a": 5.0, "w0": 2},
        20.0,
    )
    assert main(["run", "scaled-grad", "--json", *PACK]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == 4.0


def test_run_shows_a_trace_tables_blanks_and_the_draw(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "sgd-table", "--draw", "1", *PACK]) == 0
    out = capsys.readouterr().out
    # lr 0.25: w goes 1 -> 2 -> 2.5; row 2 is blank in both columns.
    lines = [line for line in out.splitlines() if "│" in line]
    assert [[cell.strip() for cell in line.split("│")[1:5]] for line in lines] == [
        ["1", "1", "1.000000", "-4.000000"],
        ["2", "2", "▢ 2.000000", "▢ -2.000000"],
        ["3", "3", "2.500000", "-1.000000"],
    ]
    assert "draw 1: lr = 0.25" in out
    assert "▢ marks a blank: the learner fills it in (2 in all)" in out


def test_run_marks_the_row_that_raises(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "backward-twice", *PACK]) == 0
    out = capsys.readouterr().out
    assert "▢ 3.000000" in out
    assert "▢ RuntimeError: Trying to backward through the graph a second" in out
    assert "draw" not in out.split("▢ marks")[0].splitlines()[-1]


def test_a_draw_that_does_not_exist_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "sgd-table", "--draw", "2", *PACK]) == 2
    assert capsys.readouterr().err == "gradquiz: question 'sgd-table' has draws 0 to 1\n"
    assert main(["run", "backward-twice", "--draw", "1", *PACK]) == 2
    assert capsys.readouterr().err == (
        "gradquiz: question 'backward-twice' has only draw 0: it has no params\n"
    )


def runs(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code = main(["check", "--format", "json", "--no-bundled", *args])
    document = json.loads(capsys.readouterr().out)
    assert document["exit_code"] == code
    return document  # type: ignore[no-any-return]


def test_check_runs_every_draw_up_to_eight_or_as_many_as_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # sgd-table 2 draws, backward-twice 1, scaled-grad 6, which-lr-moves 2 draws x 3 choices.
    every = runs(capsys, DRILLS)
    assert every["counts"]["runs"] == 2 + 1 + 6 + 6  # type: ignore[index]
    # The numeric `value` (4) is draw 0's: the other draws compute other numbers, rightly.
    assert every["problems"] == [] and every["warnings"] == []
    assert runs(capsys, "--draws", "1", DRILLS)["counts"]["runs"] == 1 + 1 + 1 + 3  # type: ignore[index]
    assert main(["check", "--draws", "0", DRILLS]) == 2


KEYED_FOR_ONE_DRAW = """\
id: one-draw-only
type: truefalse
topic: t
title: Below 0.95 after one step
prompt: "SGD with lr {{lr}} on `w` (gradient 1) takes `w` from 1 to below 0.95."
params:
  lr: [0.1, 0.01]
experiment:
  setup: |
    w = torch.tensor(1.0, requires_grad=True)
    opt = optim.SGD([w], lr=lr)
  code: |
    w.backward()
    opt.step()
  watch: {w: w}
answer: true
verify: {expr: "w.item() < 0.95"}
"""


def test_check_names_the_draw_a_problem_is_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "q.yaml", KEYED_FOR_ONE_DRAW)
    document = runs(capsys, str(path))
    assert [(p["line"], p["message"]) for p in document["problems"]] == [  # type: ignore[attr-defined]
        (16, "in draw 1 (lr = 0.01): answer key says true but the experiment shows false")
    ]
    # A problem every draw shares is said once, without a draw.
    wrong = KEYED_FOR_ONE_DRAW.replace("answer: true", "answer: false").replace("0.95", "0.999")
    path = write(tmp_path, "q.yaml", wrong)
    assert [p["message"] for p in runs(capsys, str(path))["problems"]] == [  # type: ignore[attr-defined]
        "answer key says false but the experiment shows true"
    ]


def test_a_handout_shows_draw_0_and_the_blanks_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handout = tmp_path / "h.md"
    assert main(["export", DRILLS, "-o", str(handout)]) == 0
    text = handout.read_text(encoding="utf-8")
    assert "## SGD on (w - 3)², lr 0.1\n" in text and "{{" not in text
    assert (
        "**Answer:** the blank cells, row 2, w: **1.400000**; row 2, w.grad: **-3.200000**" in text
    )
    assert "row 1, w.grad: **3.000000**; row 2, error: **RuntimeError**" in text


TWINS_IN_ONE_DRAW = """\
id: twins-in-one-draw
type: single
topic: t
title: Scaled or not
prompt: "Which choice doubles `w.grad`, with k = {{k}}?"
params:
  k: [2.0, 1.0]
experiment:
  setup: |
    w = torch.tensor(1.0, requires_grad=True)
  watch: {w.grad: w.grad}
choices:
  - {id: A, text: times two, code: "(2 * w).backward()"}
  - {id: B, text: times k, code: "(k * w).backward()", feedback: k is not always 2.}
answer: A
verify: {expr: "w.grad.item() == 2"}
"""


def test_the_ambiguity_warning_runs_in_every_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Draw 0 (k = 2): B's table equals A's and verify says B is right too: the key is wrong
    # there. Draw 1 (k = 1): the tables differ, and the key holds.
    path = write(tmp_path, "q.yaml", TWINS_IN_ONE_DRAW)
    document = runs(capsys, str(path))
    assert [p["message"] for p in document["problems"]] == [  # type: ignore[attr-defined]
        "in draw 0 (k = 2.0): answer key says A but the experiment proves A, B"
    ]
    # Without verify the key stands as written, and draw 0 still cannot show the
    # difference: a warning for that draw alone.
    fixed = TWINS_IN_ONE_DRAW.replace('verify: {expr: "w.grad.item() == 2"}\n', "")
    path = write(tmp_path, "q.yaml", fixed)
    document = runs(capsys, str(path))
    assert [p["message"] for p in document["warnings"]] == [  # type: ignore[attr-defined]
        "in draw 0 (k = 2.0): choice B is wrong but its trace equals that of correct choice A: "
        "the tables cannot show the learner the difference (watch a value that differs)"
    ]
