"""The published JSON Schema and the loader judge a question alike: both read the per-type
table (`schema.TYPE_RULES`), so an editor never accepts what `gradquiz check` rejects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gradquiz.cli import new as new_command
from gradquiz.format import load
from gradquiz.format.model import QUESTION_TYPES
from gradquiz.format.schema import json_schema
from tests.conftest import write

VALIDATOR = jsonschema.Draft202012Validator(json_schema())
EXPERIMENT = {"code": "x = 1"}
CHOICES = [{"id": "A", "text": "a", "code": "x = 1"}, {"id": "B", "text": "b", "code": "x = 2"}]


def question(**fields: Any) -> dict[str, Any]:
    return {"id": "q", "title": "t", "prompt": "p", "topic": "t", **fields}


# Each: the question, and the loader's message about it.
BOTH_REJECT = [
    (
        question(type="truefalse", answer=True, choices=[{"id": "A", "text": "a"}], lines=["x"]),
        ["a truefalse question takes no 'choices'", "a truefalse question takes no 'lines'"],
    ),
    (
        question(
            type="single",
            answer="A",
            choices=CHOICES,
            experiment=EXPERIMENT,
            verify={"same_as": "A", "expr": "True"},
        ),
        ["verify takes 'same_as' or 'expr', not both"],
    ),
    (
        question(type="single", answer="A", choices=CHOICES, experiment=EXPERIMENT, verify={}),
        ["verify needs 'same_as' or 'expr'"],
    ),
    (
        question(type="truefalse", answer=True, experiment=EXPERIMENT, verify={"same_as": "A"}),
        ["verify of a truefalse question takes 'expr', not 'same_as'"],
    ),
    (
        question(
            type="numeric",
            answer={"expr": "x"},
            experiment=EXPERIMENT,
            verify={"expr": "True"},
        ),
        ["a numeric question takes no 'verify'"],
    ),
    (
        question(type="truefalse", answer=True, verify={"expr": "True"}),
        ["verify needs an 'experiment' to run"],
    ),
    (question(type="numeric", answer={"expr": "x"}), ["a numeric question needs an 'experiment'"]),
    (question(type="order", experiment=EXPERIMENT), ["an order question needs 'lines'"]),
    (question(type="single", answer="A"), ["a single question needs 'choices'"]),
    (
        question(type="multiple", choices=CHOICES, answer=["A", "A"]),
        ["a choice id is listed twice"],
    ),
    (question(type="truefalse", answer="yes"), ["expected true or false, got the string 'yes'"]),
]


@pytest.mark.parametrize(("document", "messages"), BOTH_REJECT)
def test_the_schema_and_the_loader_reject_alike(
    tmp_path: Path, document: dict[str, Any], messages: list[str]
) -> None:
    assert not VALIDATOR.is_valid(document), document
    library = load([write(tmp_path, "q.yaml", yaml.safe_dump(document))])
    assert library.questions == []
    assert [p.message for p in library.problems] == messages


@pytest.mark.parametrize("kind", QUESTION_TYPES)
def test_the_schema_and_the_loader_accept_alike(tmp_path: Path, kind: str) -> None:
    text = new_command.template("q", kind)
    assert VALIDATOR.is_valid(yaml.safe_load(text))
    library = load([write(tmp_path, "q.yaml", text)])
    assert library.problems == [] and [q.id for q in library.questions] == ["q"]
