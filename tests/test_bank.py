"""The bundled bank keeps the promises of its issue: breadth, proof, teaching, two languages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.cli.main import language, parse
from gradquiz.format import Question, load

BANK = load([locations.bundled_questions()])
QUESTIONS = BANK.questions


def test_the_bank_loads_clean() -> None:
    assert BANK.problems == []


def test_breadth_one_pack_per_topic() -> None:
    assert len(QUESTIONS) >= 60
    topics_by_file: dict[str, set[str]] = {}
    for q in QUESTIONS:
        topics_by_file.setdefault(q.pack.file, set()).add(q.topic)
    assert all(len(topics) == 1 for topics in topics_by_file.values()), topics_by_file
    assert len({q.topic for q in QUESTIONS}) >= 10
    assert len(topics_by_file) == len({q.topic for q in QUESTIONS})


def test_every_type_at_least_five_times() -> None:
    counts = Counter(q.type for q in QUESTIONS)
    assert {t: counts[t] >= 5 for t in ("single", "multiple", "truefalse", "numeric", "order")} == {
        "single": True,
        "multiple": True,
        "truefalse": True,
        "numeric": True,
        "order": True,
    }, counts


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_every_key_is_proven_and_every_answer_teaches(question: Question) -> None:
    if question.type in ("single", "multiple", "truefalse"):
        assert question.verify is not None, "needs verify"
    if question.type == "numeric":
        assert question.answer.value is not None  # type: ignore[union-attr]
    assert question.experiment is not None
    assert question.explanation is not None
    assert question.references, "names the documentation it rests on"
    wrong = [c for c in question.choices if c.id not in question.correct_choices()]
    assert [c.id for c in wrong if c.feedback is None] == []


def test_outcomes_that_are_errors_are_asked_about() -> None:
    text = " ".join(Path(f).read_text(encoding="utf-8") for f in BANK.files)
    assert "second time" in text  # backward twice without retain_graph
    assert "modified by an inplace operation" in text


def test_chinese_alongside_english_for_the_seed_scenarios() -> None:
    bilingual = [q for q in QUESTIONS if {"en", "zh"} <= set(q.languages)]
    assert len(bilingual) >= 12
    for q in bilingual:
        texts = [q.title, q.prompt, *q.hints, *(c.text for c in q.choices)]
        texts += [t for t in (q.explanation, *(c.feedback for c in q.choices)) if t is not None]
        assert all(t.languages[0] == "en" and "zh" in t.languages for t in texts), q.id


def test_at_least_three_experiments_use_torchvision() -> None:
    uses = [
        q.id
        for q in QUESTIONS
        if q.experiment is not None
        and any("torchvision" in (c.source if c else "") for c in (q.experiment.setup,))
    ]
    assert len(uses) >= 3


@pytest.mark.parametrize(
    ("environment", "flag", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, None, "zh-CN"),
        ({"LANG": "C.UTF-8"}, None, None),
        ({"LANG": "en_US.UTF-8"}, "zh", "zh"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, None, "zh-TW"),
    ],
)
def test_language_from_flag_or_locale(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    flag: str | None,
    expected: str | None,
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    args = parse(["list"] + (["--lang", flag] if flag else []))
    assert language(args) == expected


def test_chinese_where_it_exists_english_elsewhere() -> None:
    bilingual = next(q for q in QUESTIONS if "zh" in q.languages)
    english_only = next(q for q in QUESTIONS if q.languages == ["en"])
    assert bilingual.title.get("zh-CN") == bilingual.title.by_language["zh"]
    assert english_only.title.get("zh-CN") == english_only.title.by_language["en"]
