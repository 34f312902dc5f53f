"""Format v1 extended: the trace type, params and shuffle; every v1 rule still holds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gradquiz.format import Question, load
from gradquiz.format.model import DEFAULT_ERRORS, Blank, Draw, Param, TraceAnswer
from gradquiz.format.params import drawn
from gradquiz.format.schema import json_schema
from gradquiz.progress.drill import content_hash
from tests.conftest import PACKS, write

VALIDATOR = jsonschema.Draft202012Validator(json_schema())
EXPERIMENT = {"setup": "w = torch.tensor(1.0, requires_grad=True)", "code": "w.backward()"}


def trace(**fields: Any) -> dict[str, Any]:
    question = {
        "id": "q",
        "type": "trace",
        "title": "t",
        "prompt": "p",
        "topic": "t",
        "experiment": {**EXPERIMENT, "watch": {"w.grad": "w.grad"}},
        "blanks": [{"row": 1, "column": "w.grad"}],
    }
    return {**question, **fields}


def messages(tmp_path: Path, document: dict[str, Any]) -> list[str]:
    library = load([write(tmp_path, "q.yaml", yaml.safe_dump(document, sort_keys=False))])
    return [p.message for p in library.problems]


def test_the_drills_pack_loads_blanks_params_and_the_tolerance() -> None:
    library = load([PACKS / "drills.yaml"])
    assert library.problems == []
    table, twice, scaled, _ = library.questions
    assert table.blanks == (Blank(2, "w"), Blank(2, "w.grad"))
    assert table.answer == TraceAnswer(0.01) and table.trace_tolerance == 0.01
    assert twice.blanks[1] == Blank(2, None, raises=True, errors=DEFAULT_ERRORS)
    assert twice.trace_tolerance == 1e-3  # no `answer`: the default
    # A grid of whole numbers is drawn as ints, so a prompt shows `2`, not `2.0`.
    assert scaled.params == (Param("a", (2.0, 3.0, 5.0)), Param("w0", (1, 2)))


def test_a_grid_of_fractions_includes_its_end_and_rounds() -> None:
    document = trace(params={"x": {"range": [0.1, 0.5], "step": 0.1}})
    assert VALIDATOR.is_valid(document)


def test_grid_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "q.yaml",
        yaml.safe_dump(trace(params={"x": {"range": [0.1, 0.5], "step": 0.1}})),
    )
    (question,) = load([path]).questions
    assert question.params == (Param("x", (0.1, 0.2, 0.3, 0.4, 0.5)),)


# Each: the question, and the loader's messages about it; the schema rejects it too.
BOTH_REJECT = [
    (
        trace(blanks=[{"row": 1}]),
        ["a blank names a 'column', or is 'raises: true' (the row that errors)"],
    ),
    (
        trace(blanks=[{"row": 1, "column": "w.grad", "raises": True}]),
        ["a blank names a 'column', or is 'raises: true' (the row that errors)"],
    ),
    (trace(blanks=[{"row": 0, "column": "w.grad"}]), ["must be between 1 and 100000, got 0"]),
    (trace(blanks=[]), ["needs at least 1 item(s)"]),
    ({**trace(), "blanks": None}, ["expected a list, got nothing (null)"]),
    (trace(choices=[{"id": "A", "text": "a"}]), ["a trace question takes no 'choices'"]),
    (
        trace(answer={"tolerance": 0.1, "expr": "x"}),
        ["unknown key 'expr' in a trace answer (tolerance)"],
    ),
    (
        {**trace(), "type": "truefalse", "answer": True},
        ["a truefalse question takes no 'blanks'"],
    ),
    (trace(params={"lr": []}), ["needs 1 to 1000 values"]),
    (trace(params={"x": {"range": [0, 1]}}), ["a parameter range is missing 'step'"]),
]


@pytest.mark.parametrize(("document", "expected"), BOTH_REJECT)
def test_the_schema_and_the_loader_reject_alike(
    tmp_path: Path, document: dict[str, Any], expected: list[str]
) -> None:
    assert not VALIDATOR.is_valid(document), document
    assert messages(tmp_path, document) == expected


# What only the loader can see: names, placeholders and how blanks sit together.
LOADER_REJECTS = [
    (
        trace(blanks=[{"row": 1, "column": "loss"}]),
        "blank column 'loss' is not a watch label (w.grad)",
    ),
    (
        trace(blanks=[{"row": 1, "column": "w.grad"}, {"row": 1, "column": "w.grad"}]),
        "the blank at row 1, w.grad is listed twice",
    ),
    (
        trace(blanks=[{"row": 2, "column": "w.grad"}, {"row": 2, "raises": True}]),
        "no row comes after the one that raises; blank cells before it",
    ),
    (
        trace(blanks=[{"row": 2, "raises": True}]),
        "blank at least one cell: the error alone leaves no table to predict",
    ),
    (
        trace(blanks=[{"row": 1, "column": "w.grad", "errors": ["RuntimeError"]}]),
        "'errors' belongs to a 'raises: true' blank",
    ),
    (trace(params={"step": [1, 2]}), "parameter 'step' would hide the experiment's own 'step'"),
    (trace(params={"class": [1, 2]}), "parameter 'class' is not a Python name"),
    (
        trace(params={"x": {"range": [0, 5000], "step": 1}}),
        "range gives 5001 values; at most 1000",
    ),
    (
        trace(params={"lr": [0.1]}, prompt="lr {{lr}}, x {{ x }}"),
        "text shows {{x}}, which is not a parameter (params: lr)",
    ),
    (
        trace(title="{{lr}}"),
        "text shows {{lr}}, which is not a parameter (params: none: the question has no 'params')",
    ),
]


@pytest.mark.parametrize(("document", "message"), LOADER_REJECTS)
def test_the_loader_rejects(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    assert messages(tmp_path, document) == [message]


def test_a_problem_in_a_blank_points_at_its_line(tmp_path: Path) -> None:
    text = (PACKS / "drills.yaml").read_text(encoding="utf-8")
    broken = text.replace("- {row: 2, column: w.grad}\n", "- {row: 2, colum: w.grad}\n", 1)
    library = load([write(tmp_path, "d.yaml", broken)])
    (problem,) = library.problems
    assert (problem.location.line, problem.message) == (
        text[: text.index("- {row: 2, column: w.grad}")].count("\n") + 1,
        "unknown key 'colum' in a blank (row, column, raises, errors)",
    )


V1 = """\
id: v1-hash
type: single
topic: t
title: A v1 question
prompt: Which?
experiment:
  setup: |
    w = torch.tensor([1.0], requires_grad=True)
  watch: {w: w}
choices:
  - {id: A, text: one, code: "w.data += 1"}
  - {id: B, text: two, code: "w.data += 2"}
answer: A
"""


def v1_digest(question: Question) -> str:
    """The content hash of a v1 question, written out again: every field of the question's
    dataclasses but where it (or its code) sits."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in {"location", "field_locations", "origin", "pack"}
            }
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    fields = plain(question)
    v1 = {name: fields[name] for name in V1_FIELDS}
    if v1["experiment"] is not None:
        v1["experiment"] = {k: v1["experiment"][k] for k in V1_EXPERIMENT_FIELDS}
    text = json.dumps(v1, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


V1_FIELDS = (
    *("id", "type", "title", "prompt", "topic", "tags", "difficulty", "hints"),
    *("explanation", "references", "experiment", "choices", "answer", "verify"),
    *("lines", "distractors"),
)


V1_EXPERIMENT_FIELDS = ("seed", "setup", "code", "steps", "watch", "timeout", "tolerance")


def test_a_v1_question_keeps_its_content_hash(tmp_path: Path) -> None:
    # A learner's schedule for it survives the upgrade: the new fields at their defaults
    # are not part of the digest.
    (question,) = load([write(tmp_path, "v1.yaml", V1)]).questions
    assert content_hash(question) == v1_digest(question)


def test_moving_a_question_keeps_its_content_hash(tmp_path: Path) -> None:
    """Its code's place (file and line) is not content: a question moved down its file, or
    read from another path (a checkout, then an installed wheel), keeps its history."""
    (here,) = load([write(tmp_path, "v1.yaml", V1)]).questions
    moved = "\n\n\n" + V1
    (there,) = load([write(tmp_path / "elsewhere", "other.yaml", moved)]).questions
    assert here.experiment is not None and there.experiment is not None
    assert here.experiment.setup is not None and there.experiment.setup is not None
    assert here.experiment.setup.origin != there.experiment.setup.origin
    assert content_hash(there) == content_hash(here)


def test_params_are_content_shuffle_and_the_draw_are_not(tmp_path: Path) -> None:
    (plain,) = load([write(tmp_path, "v1.yaml", V1)]).questions
    (unshuffled,) = load([write(tmp_path, "v1.yaml", V1 + "shuffle: false\n")]).questions
    (drawing,) = load([write(tmp_path, "v1.yaml", V1 + "params: {x: [1, 2]}\n")]).questions
    assert unshuffled.shuffle is False
    assert content_hash(unshuffled) == content_hash(plain)
    assert content_hash(drawing) != content_hash(plain)
    assert content_hash(drawn(drawing, Draw(1, 7))) == content_hash(drawing)


def test_the_graph_the_lab_draws_is_not_content(tmp_path: Path) -> None:
    """Naming the tensor whose graph is drawn changes neither what is asked nor how it is
    graded: a learner's schedule survives an author adding `experiment.graph`."""
    (plain,) = load([write(tmp_path, "v1.yaml", V1)]).questions
    graphed = V1.replace("experiment:\n", "experiment:\n  graph: w\n", 1)
    (drawn_graph,) = load([write(tmp_path, "graph.yaml", graphed)]).questions
    assert drawn_graph.experiment is not None and drawn_graph.experiment.graph is not None
    assert content_hash(drawn_graph) == content_hash(plain)
