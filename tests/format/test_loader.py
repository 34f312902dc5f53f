from __future__ import annotations

from pathlib import Path

from gradquiz.format import load, load_first
from gradquiz.format.model import NumericAnswer
from tests.conftest import PACKS, write

QUESTION = """\
id: {id}
type: single
title: t
prompt: p
topic: basics
experiment:
  code: |
    x = 1
choices:
  - {{id: A, text: a}}
  - {{id: B, text: b}}
answer: A
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path, "q.yaml", text)
    return [str(p) for p in load([tmp_path]).problems]


def test_good_pack_loads_every_type() -> None:
    library = load([PACKS / "good.yaml"])
    assert library.problems == []
    assert [q.type for q in library.questions] == [
        "single",
        "numeric",
        "truefalse",
        "multiple",
        "order",
    ]
    accumulate = library.questions[0]
    assert accumulate.title.get("zh") == "梯度会累加吗？"
    assert accumulate.title.get("fr") == "Does .grad pile up?"
    assert accumulate.title.get("zh-CN") == "梯度会累加吗？"
    assert accumulate.pack.name == "Test pack"
    assert [v.id for v in accumulate.variants()] == ["A", "B"]
    experiment = accumulate.experiment
    assert experiment is not None and experiment.setup is not None
    assert experiment.setup.origin.line == 14
    numeric = library.questions[1]
    assert numeric.answer == NumericAnswer(numeric.answer.expr, 0.001, 0.7)  # type: ignore[union-attr]
    assert [v.id for v in library.questions[4].variants()] == ["reference"]


def test_a_single_question_file_is_a_pack_of_one(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", QUESTION.format(id="only"))
    library = load([tmp_path])
    assert [q.id for q in library.questions] == ["only"]
    assert library.questions[0].variants()[0].id == "main"


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    text = QUESTION.format(id="q") + "colour: red\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path / 'q.yaml'}:13:1: unknown key 'colour' in a question (id, type, title, "
        "prompt, topic, tags, difficulty, hints, explanation, references, experiment, choices, "
        "answer, verify, lines, distractors, blanks, params, shuffle)"
    ]


def test_unknown_nested_key_points_at_its_line(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("  code: |", "  stpes: 3\n  code: |")
    [message] = problems(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'q.yaml'}:7:3: unknown key 'stpes' in experiment")


def test_wrong_types_are_located(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("topic: basics", "topic: Basics 1\ndifficulty: 5")
    assert problems(tmp_path, text) == [
        f"{tmp_path / 'q.yaml'}:5:8: expected a slug (lowercase letters, digits and -), "
        "got the string 'Basics 1'",
        f"{tmp_path / 'q.yaml'}:6:13: must be between 1 and 3, got 5",
    ]


def test_missing_required_fields(tmp_path: Path) -> None:
    [message] = problems(tmp_path, "id: q\ntype: single\ntitle: t\nprompt: p\n")
    assert message == f"{tmp_path / 'q.yaml'}:1:1: a question is missing 'topic'"


def test_python_syntax_error_points_inside_the_block(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("    x = 1\n", "    x = 1\n    y = (2\n")
    [message] = problems(tmp_path, text)
    assert message == f"{tmp_path / 'q.yaml'}:9:9: Python syntax error: '(' was never closed"


def test_watch_expression_must_be_an_expression(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("  code: |", "  watch: {w: 'x = 1'}\n  code: |")
    [message] = problems(tmp_path, text)
    assert ":7:" in message and "Python syntax error" in message


def test_duplicate_ids_across_files_name_both(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", QUESTION.format(id="same"))
    write(tmp_path, "b/c.yml", QUESTION.format(id="same"))
    library = load([tmp_path])
    assert [str(p) for p in library.problems] == [
        f"{tmp_path / 'b/c.yml'}:1:1: duplicate question id 'same', first defined at "
        f"{tmp_path / 'a.yaml'}:1:1"
    ]
    assert len(library.questions) == 1


def test_load_first_reads_up_to_the_first_question_then_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "a: [\n")
    write(tmp_path, "b.yaml", QUESTION.format(id="b"))
    write(tmp_path, "c.yaml", QUESTION.format(id="c"))
    write(tmp_path, "d.yaml", QUESTION.format(id="b"))
    first = load_first([tmp_path, tmp_path / "missing"])
    assert [q.id for q in first.questions] == ["b"]
    assert [Path(f).name for f in first.files] == ["a.yaml", "b.yaml"]
    assert [Path(f).name for f in first.pending] == ["c.yaml", "d.yaml"]
    assert not first.complete
    rest = first.load_rest()
    everything = load([tmp_path, tmp_path / "missing"])
    assert rest.complete
    assert rest.questions == everything.questions
    assert rest.problems == everything.problems  # the duplicate in d.yaml too
    assert rest.files == everything.files
    assert [q.id for q in first.questions] == ["b"]  # left as it was


def test_load_first_reads_up_to_the_question_asked_for(tmp_path: Path) -> None:
    for name in "abc":
        write(tmp_path, f"{name}.yaml", QUESTION.format(id=name))
    assert [q.id for q in load_first([tmp_path], "b").questions] == ["a", "b"]
    unknown = load_first([tmp_path], "nope")
    assert unknown.complete
    assert [q.id for q in unknown.questions] == ["a", "b", "c"]


def test_every_problem_of_every_file_in_one_run(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "a: [\n")
    write(tmp_path, "b.yaml", QUESTION.format(id="b") + "extra: 1\nmore: 2\n")
    write(tmp_path, "c.yaml", b"\xff\xfe".decode("latin-1"))
    library = load([tmp_path])
    files = [Path(p.location.file).name for p in library.problems]
    assert files == ["a.yaml", "b.yaml", "b.yaml", "c.yaml"]


def test_answer_must_name_a_choice(tmp_path: Path) -> None:
    [message] = problems(tmp_path, QUESTION.format(id="q").replace("answer: A", "answer: Z"))
    assert message.endswith(":12:9: answer 'Z' is not a choice id (A, B)")


def test_answer_shape_follows_the_type(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("type: single", "type: multiple")
    [message] = problems(tmp_path, text)
    assert message.endswith(":12:9: expected a list of choice ids, got the string 'A'")


def test_order_questions_take_no_answer(tmp_path: Path) -> None:
    text = """\
id: q
type: order
title: t
prompt: p
topic: t
experiment: {steps: 1}
lines: [x = 1]
answer: A
"""
    [message] = problems(tmp_path, text)
    assert message.endswith(":8:9: order questions have no answer: they are graded by running")


def test_same_as_needs_choice_code(tmp_path: Path) -> None:
    text = QUESTION.format(id="q") + "verify: {same_as: A}\n"
    [message] = problems(tmp_path, text)
    assert message.endswith(
        ":13:1: verify compares choices' runs, but no choice carries its own 'code'"
    )


def test_variant_without_code_needs_experiment_code(tmp_path: Path) -> None:
    text = QUESTION.format(id="q").replace("  code: |\n    x = 1\n", "  steps: 2\n")
    text = text.replace("{id: A, text: a}", "{id: A, text: a, code: 'x = 2'}")
    [message] = problems(tmp_path, text)
    assert message.endswith(":6:1: experiment needs 'code': a choice without 'code' runs it")


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    library = load([tmp_path / "nope.yaml"])
    assert [p.message for p in library.problems] == ["no such file or directory"]


def test_empty_and_scalar_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "")
    write(tmp_path, "b.yaml", "just text\n")
    messages = [p.message for p in load([tmp_path]).problems]
    assert messages == [
        "file is empty; expected a pack or a question",
        "expected a question file, got the string 'just text'",
    ]
