"""`gradquiz run` says what the lab says: headings, explanations, glosses, code, comparisons."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from gradquiz.cli import main
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

GOOD = str(PACKS / "good.yaml")
PILED = (
    "A differs from B first at step 2, in w.grad: [-0.585088] against [-1.173027]; "
    "the gap grows with the step (gradients piling up)."
)
GLOSS = "The first backward() freed the graph's saved values"

# A choice text and a watch label with Rich markup and terminal controls in them.
HOSTILE = """\
id: hostile-choices
type: single
topic: hostile
title: t
prompt: p
experiment:
  setup: |
    x = torch.tensor([1.0], requires_grad=True)
  watch:
    "[red]g[/red]\\e[2J\\nforged": x.grad
choices:
  - id: A
    text: "[bold]right[/bold] \\e]0;owned\\a"
    code: |
      (x * 2).sum().backward()
  - id: B
    text: wrong
    code: |
      (x * -2).sum().backward()
answer: A
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["run", *args, "--no-bundled", "--questions", GOOD]) == 0
    return capsys.readouterr().out


def test_text_headings_and_explanations(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "accumulate")
    assert "A ✗ zero_grad every step" in out
    assert "B ✓ no zero_grad" in out
    # Rich folds long lines in a pipe at 80 columns: compare the words.
    assert PILED.split() == out[out.index("A differs") :].split()


def test_text_glosses_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(run(capsys, "retain").split())
    assert f"main, RuntimeError: {GLOSS}" in out


def test_json_has_the_text_the_differences_and_the_gloss(
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = json.loads(run(capsys, "accumulate", "--json"))["variants"]
    assert (a["text"], b["text"]) == ("zero_grad every step", "no zero_grad")
    assert b["differences"] == [] and a["gloss"] is None
    [found] = a["differences"]
    assert found["sentence"] == PILED
    assert (found["subject"], found["against"], found["same"]) == ("A", "B", False)
    assert (found["step"], found["column"], found["patterns"]) == (2, "w.grad", ["growing"])
    assert found["value"][0][0] == pytest.approx(-0.585088, abs=1e-6)
    assert found["against_value"][0][0] == pytest.approx(-1.173027, abs=1e-6)
    assert found["cells"] == 30
    [retained] = json.loads(run(capsys, "retain", "--json"))["variants"]
    assert retained["gloss"].startswith(GLOSS)


def test_json_same_as_claims_report_the_largest_difference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    variants = {v["id"]: v for v in json.loads(run(capsys, "reduction", "--json"))["variants"]}
    [same] = variants["C"]["differences"]
    assert same["same"] is True and same["against"] == "A"
    assert same["sentence"].startswith("C behaves like A: max |Δ| = ")


def test_markdown_explains_under_each_table(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "accumulate", "--format", "markdown")
    assert f"| 10 | [-0.562586] | [-0.189638] | 0.826875 |\n\n{PILED}\n" in out
    retain = run(capsys, "retain", "--format", "markdown")
    assert "Raised at step 2: `RuntimeError: Trying to backward" in retain
    assert f"\n\nWhat it means: {GLOSS}" in retain


def test_compare_a_column_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    text = run(capsys, "accumulate", "--compare", "w.grad")
    header = next(line for line in text.splitlines() if "step" in line)
    assert header.index("B ✓") < header.index("A ✗")
    assert "[-0.585088] ≠" in text
    rows = list(
        csv.reader(io.StringIO(run(capsys, "accumulate", "--compare", "w.grad", "--format", "csv")))
    )
    assert rows[0] == ["step", "B", "A"]
    assert rows[1] == ["1", "[[-0.5879395604133606]]", "[[-0.5879395604133606]]"]
    assert len(rows) == 11
    document = json.loads(run(capsys, "accumulate", "--compare", "w.grad", "--json"))
    assert [v["id"] for v in document["variants"]] == ["B", "A"]
    assert document["rows"][0]["differs"] == [] and document["rows"][1]["differs"] == ["A"]
    assert document["rows"][1]["values"]["A"][0][0] == pytest.approx(-0.585088, abs=1e-6)
    markdown = run(capsys, "accumulate", "--compare", "w.grad", "--format", "markdown")
    assert "| step | B ✓ | A ✗ |\n|---:|---:|---:|\n| 1 | [-0.587940] | [-0.587940] |\n" in markdown
    assert "| 2 | [-1.173027] | [-0.585088] ≠ |" in markdown


def test_compare_an_unknown_column_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", "accumulate", "--compare", "w.gard", "--no-bundled", "--questions", GOOD]) == 2
    )
    assert capsys.readouterr().err == (
        "gradquiz: no watch column 'w.gard'; the columns are 'w.grad', 'w', 'loss'\n"
    )


def test_headings_and_comparisons_show_pack_text_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no folding: the heading stays on one line
    pack = str(write(tmp_path, "hostile.yaml", HOSTILE))
    for args in (
        [],
        ["--compare", "[red]g[/red]\x1b[2J\nforged"],
        ["--format", "markdown"],
        ["--compare", "[red]g[/red]\x1b[2J\nforged", "--format", "markdown"],
    ):
        assert main(["run", "hostile-choices", *args, "--no-bundled", "--questions", pack]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\a" not in out
        # A table's title folds at the table's width: the escape may start a line.
        assert "✓ [bold]right[/bold]" in out and "\\x1b]0;owned\\x07" in out
        assert "[red]g[/red]\\x1b[2J" in out
        assert "sign flip" in out or "--compare" in args
        assert not any(line.startswith("forged") for line in out.splitlines())


def test_a_bundled_true_false_same_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", "zero-grad-top-or-bottom-same-from-clean-start", "--format", "markdown"]) == 0
    )
    out = capsys.readouterr().out
    assert "\n\nw2 behaves like w1: max |Δ| = 0 over 10 cells.\n\n" in out
    assert "\n\nloss2 behaves like loss1: max |Δ| = 0 over 10 cells.\n" in out


def test_dot_draws_each_variants_graph_with_named_leaves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.test_graphs import parse_dot

    drawn = parse_dot(run(capsys, "accumulate", "--format", "dot"))
    assert [name for name, _labels, _edges in drawn] == ["A", "B"]
    for _name, labels, edges in drawn:
        # BCELoss(Sigmoid(Linear(x))): the parameters by their module's names.
        leaves = sorted(v.split("\n")[0] for v in labels.values() if v.startswith("model."))
        assert leaves == ["model.0.bias", "model.0.weight"]
        first = {labels[a].split("\n")[0] for a, b in edges if labels[b] == "loss"}
        assert first == {"BinaryCrossEntropyBackward0"}


def test_json_rows_carry_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(run(capsys, "accumulate", "--format", "json"))
    rows = document["variants"][1]["rows"]
    assert len(rows) == 10
    graph = rows[1]["graph"]
    assert graph["expr"] == "loss" and graph["requires_grad"] is True
    assert graph["nodes"][0]["kind"] == "BinaryCrossEntropyBackward0"
    leaves = {n["name"]: n["grad"] for n in graph["nodes"] if n["kind"] == "AccumulateGrad"}
    # No zero_grad: backward adds into .grad every step.
    assert leaves == {"model.0.weight": "changed", "model.0.bias": "changed"}


def test_dot_and_compare_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--format", "dot", "--compare", "w", "--no-bundled", "--questions", GOOD]
    code = main(["run", "accumulate", *flags])
    assert code == 2
    assert "leave out --format dot" in capsys.readouterr().err
