"""`gradquiz export --format ipynb`: the notebook runs in a plain kernel and prints PyTorch's
numbers, the same that `gradquiz run --json` reports."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from gradquiz.classroom.notebook import _literal, helper_source
from gradquiz.cli import main
from gradquiz.display import cell
from gradquiz.format import load
from gradquiz.lab import notebook_kernel as kernel
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import RUN_THREADS, requests_for
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

GOOD = str(PACKS / "good.yaml")
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]\d+)?|-?inf|nan")


def export(path: str, out: Path, *flags: str) -> Any:
    assert main(["export", path, "--format", "ipynb", "-o", str(out), *flags]) == 0
    return nbformat.read(str(out), as_version=4)  # type: ignore[no-untyped-call]


def printed_tables(nb: Any) -> dict[str, dict[str, list[str]]]:
    """Question id -> variant id -> the lines its cell printed."""
    tables: dict[str, dict[str, list[str]]] = {}
    question = ""
    for c in nb.cells:
        if c.cell_type == "markdown":
            found = re.search(r"^`([a-z0-9-]+)` · ", c.source, re.MULTILINE)
            question = found.group(1) if found else question
        elif question and c.outputs:
            # stdout only: torch's warnings go to stderr, as they do in gradquiz's runs.
            lines = "".join(o.text for o in c.outputs if o.get("name") == "stdout").splitlines()
            tables.setdefault(question, {})[lines[0]] = lines[1:]
    return tables


def rows_of(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of a printed table, cut at the columns its dashes mark."""
    spans = [m.span() for m in re.finditer(r"-+", lines[1])]
    cut = [[line[a:b].strip() for a, b in spans] for line in lines]
    # The rows end where an error (whose message may span lines) or the answer begins.
    ends = [i for i, line in enumerate(lines) if line.startswith(("raised", "answer"))]
    body = cut[2 : min(ends, default=len(lines))]
    return cut[0], body


def flat(value: Any) -> list[Any]:
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


def test_executed_notebook_prints_the_numbers_gradquiz_run_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = export(GOOD, tmp_path / "good.ipynb", "--execute")
    tables = printed_tables(nb)
    assert list(tables) == ["accumulate", "step-rule", "retain", "reduction", "loop-order"]
    compared = 0
    for question, printed in tables.items():
        assert main(["run", question, "--json", "--no-bundled", "--questions", GOOD]) == 0
        document = json.loads(capsys.readouterr().out)
        assert list(printed) == [v["id"] for v in document["variants"]]
        for variant in document["variants"]:
            lines = printed[variant["id"]]
            header, rows = rows_of(lines)
            assert header == ["step", *variant["columns"]]
            assert len(rows) == len(variant["rows"])
            for shown, row in zip(rows, variant["rows"], strict=True):
                assert shown[0] == str(row["step"])
                for text, column in zip(shown[1:], variant["columns"], strict=True):
                    numbers = [float(n) for n in NUMBER.findall(text)]
                    values = flat(row["values"][column])
                    assert len(numbers) == len(values), (text, values)
                    for number, value in zip(numbers, values, strict=True):
                        assert math.isclose(number, value, rel_tol=1e-5, abs_tol=1e-6)
                        compared += 1
            error = variant["error"]
            raised = [line for line in lines if line.startswith("raised")]
            if error is None:
                assert raised == []
            else:
                assert raised == [
                    f"raised at step {error['step']}: {error['type']}: {error['message']}"
                ]
        if "answer" in document:
            assert f"answer: {cell(document['answer'])}" in printed["main"]
    assert compared == 2 * 10 * 3 + 2 * 4 + 1 + 3 + 3 * 2  # every value of every table


def test_a_torchvision_question_imports_it_in_the_kernel(tmp_path: Path) -> None:
    pack = write(
        tmp_path,
        "vision.yaml",
        """\
questions:
  - id: flip
    type: truefalse
    title: Flip
    prompt: hflip reverses the last dimension.
    topic: vision
    experiment:
      setup: |
        import torchvision
        x = torch.arange(4.0).reshape(1, 2, 2)
      code: |
        record()
        x = torchvision.transforms.functional.hflip(x)
        record()
    answer: true
""",
    )
    nb = export(str(pack), tmp_path / "vision.ipynb", "--execute")
    assert nb.cells[1].source.rstrip().endswith("import_torchvision()")
    header, rows = rows_of(printed_tables(nb)["flip"]["main"])
    # The default watch has no model and no loss: no columns, but one row per record().
    assert header == ["step"]
    assert rows == [["1"], ["1"]]


def test_the_kernel_helper_traces_as_the_lab_does(tmp_path: Path, lab: Lab) -> None:
    pack = write(
        tmp_path,
        "parity.yaml",
        """\
questions:
  - id: parity
    type: single
    title: Parity
    prompt: Which?
    topic: parity
    experiment:
      seed: 7
      setup: |
        model = nn.Linear(2, 1)
        opt = optim.SGD(model.parameters(), lr=0.1)
        x = torch.randn(3, 2)
      steps: 3
    choices:
      - id: A
        text: records mid-step
        code: |
          opt.zero_grad()
          loss = model(x).pow(2).mean()
          loss.backward()
          record()
          opt.step()
          record()
      - id: B
        text: fails at step 2
        code: |
          loss = model(x).sum()
          loss.backward()
          if step == 2:
              raise ValueError(f"step {step} of {len(x)}")
      - id: C
        text: fails in its setup
        setup: |
          import no_such_module_here
        code: |
          loss = model(x).sum()
    answer: A
""",
    )
    question = load([pack]).get("parity")
    assert question is not None
    results = {r.variant: r for r in lab.run_all(requests_for(question))}
    for request in requests_for(question):
        run = kernel.trace(
            code=request.code.source,
            setup=tuple(s.source for s in request.setup),
            seed=request.seed,
            steps=request.steps,
        )
        result = results[request.variant]
        assert list(run.columns()) == result.columns
        assert [(r.step, r.values) for r in result.rows] == run.rows
        assert run.error == (None if result.error is None else str(result.error))
    assert len(results["A"].rows) == 6
    assert results["B"].error is not None and results["B"].error.message == "step 2 of 3"


def test_the_kernel_computes_on_the_threads_the_lab_does() -> None:
    """The helper is exported as text, so it names the number itself: kept in step here."""
    assert f"\ntorch.set_num_threads({RUN_THREADS})\n" in helper_source(torchvision=False)


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 0.1234567, 1e-9, 2.5e7, -0.0, math.nan, -math.inf, [[1.5]], [], [1, 2.0],
     list(range(9)), [[0.1, 0.2], [0.3, 0.4]], "tensor(…)"],
)  # fmt: skip
def test_the_helper_rounds_as_gradquiz_tables_do(value: Any) -> None:
    assert kernel.cell(value) == cell(value)


@pytest.mark.parametrize(
    "source",
    ["x = 1\n", 'print("""hi""")\n', 's = "a"', "path = 'C:\\\\new'\n", "a\x1b[2Jb\n", "\\"],
)
def test_code_becomes_a_string_literal_that_reads_back_exactly(source: str) -> None:
    literal = _literal(source)
    assert ast.literal_eval(literal) == source
    assert "\x1b" not in literal


def test_the_helper_cell_compiles_as_one_module() -> None:
    compile(helper_source(torchvision=True), "<cell>", "exec")
    assert "import_torchvision" not in helper_source(torchvision=False)


def test_export_without_execute_is_valid_and_the_same_each_time(tmp_path: Path) -> None:
    first = export(GOOD, tmp_path / "a.ipynb")
    export(GOOD, tmp_path / "b.ipynb")
    assert (tmp_path / "a.ipynb").read_bytes() == (tmp_path / "b.ipynb").read_bytes()
    nbformat.validate(first)
    code = [c for c in first.cells if c.cell_type == "code"]
    assert len(code) == 1 + 2 + 1 + 1 + 3 + 1  # the helper, then every variant
    assert all(c.outputs == [] for c in code)
    assert first.metadata.kernelspec.name == "python3"


def test_execute_is_for_notebooks_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", GOOD, "--execute"]) == 2
    assert "--execute runs a notebook: use it with --format ipynb" in capsys.readouterr().err


def test_an_empty_watch_means_no_columns_not_the_default() -> None:
    setup = ("model = nn.Linear(1, 1)",)
    assert list(kernel.trace(code="loss = 1.0", setup=setup, watch={}).columns()) == []
    default = kernel.trace(code="loss = 1.0", setup=setup).columns()
    assert list(default) == ["weight.grad", "weight", "bias.grad", "bias", "loss"]
