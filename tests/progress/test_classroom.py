"""`gradquiz stats --class DIR`: several learners' real stores added up, read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradquiz.cli import main
from gradquiz.format import load
from gradquiz.progress.classroom import class_stats, pick_text
from gradquiz.progress.drill import Progress
from gradquiz.progress.store import FILE_NAME, open_store
from tests.conftest import PACKS

PACK = ["--no-bundled", "--questions", str(PACKS / "good.yaml")]
QUESTIONS = {q.id: q for q in load([PACKS / "good.yaml"]).questions}


def learner(directory: Path, name: str, given: list[tuple[str, object, bool]]) -> Progress:
    """A learner's store as `gradquiz serve` keeps it, with these answers; left open."""
    progress = Progress(open_store(directory / name).store)
    then = datetime.now(UTC) - timedelta(hours=1)
    for n, (qid, response, correct) in enumerate(given):
        progress.record(
            QUESTIONS[qid],
            response=response,
            correct=correct,
            seconds=12,
            torch="2.13.0",
            now=then + timedelta(seconds=n),
        )
    return progress


@pytest.fixture
def classroom(tmp_path: Path) -> Path:
    room = tmp_path / "class"
    # ada: accumulate right; step-rule wrong (0.5). bob: accumulate wrong (A) twice, then
    # right. cy: accumulate wrong (A). Accumulate: 5 answers, 2 right; A picked wrong 3 times.
    answers: dict[str, list[tuple[str, object, bool]]] = {
        "ada": [("accumulate", "B", True), ("step-rule", 0.5, False)],
        "bob": [("accumulate", "A", False), ("accumulate", "A", False), ("accumulate", "B", True)],
        "cy": [("accumulate", "A", False)],
    }
    for name, given in answers.items():
        learner(room, name, given).store.close()
    (room / "not-a-learner").mkdir()  # a directory without a store is no learner
    return room


def test_class_stats_add_every_learner_up(classroom: Path) -> None:
    document = class_stats(classroom, list(QUESTIONS.values()))
    assert [(x["name"], x["answered"], x["correct"]) for x in document["learners"]] == [
        ("ada", 2, 1),
        ("bob", 3, 1),
        ("cy", 1, 0),
    ]
    assert (document["answered"], document["correct"], document["accuracy"]) == (6, 2, 0.3333)
    accumulate = document["by_question"]["accumulate"]
    assert (accumulate["learners"], accumulate["answered"], accumulate["correct"]) == (3, 5, 2)
    assert accumulate["accuracy"] == 0.4
    assert accumulate["wrong_picks"] == {"A": 3}
    assert document["by_topic"]["training-loop"] == {
        "answered": 5,
        "correct": 2,
        "accuracy": 0.4,
    }
    assert document["by_topic"]["optimizer-step"]["accuracy"] == 0.0
    assert document["most_missed"] == [
        {
            "id": "accumulate",
            "title": "Does .grad pile up?",
            "wrong": 3,
            "answered": 5,
            "most_picked_wrong": "A",
            "picked": 3,
        },
        {
            "id": "step-rule",
            "title": "x - lr * grad",
            "wrong": 1,
            "answered": 1,
            "most_picked_wrong": "0.5",
            "picked": 1,
        },
    ]


def test_a_live_session_writing_is_neither_blocked_nor_changed(tmp_path: Path) -> None:
    room = tmp_path / "class"
    live = learner(room, "ada", [("accumulate", "B", True)])
    # The learner is mid-answer, holding the write lock: the class is still read...
    with live.store.transaction():
        assert class_stats(room, [])["answered"] == 1
    # ...and the learner's next answer is saved at once afterwards, with stats reading again.
    live.record(
        QUESTIONS["step-rule"],
        response=0.7,
        correct=True,
        seconds=3,
        torch=None,
        now=datetime.now(UTC),
    )
    assert class_stats(room, [])["answered"] == 2
    live.store.close()


def test_reading_a_class_changes_no_learner_file(classroom: Path) -> None:
    store = classroom / "bob" / FILE_NAME
    before = store.read_bytes()
    class_stats(classroom, [])
    assert store.read_bytes() == before


def test_pick_text_shows_answers_as_given() -> None:
    assert [pick_text(json.dumps(v)) for v in ("B", ["a", "c"], True, 0.25)] == [
        "B",
        "a, c",
        "true",
        "0.25",
    ]


def test_stats_class_json(classroom: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--class", str(classroom), "--json", *PACK]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"learners", "answered", "by_question", "by_topic"} <= set(document)
    assert [x["name"] for x in document["learners"]] == ["ada", "bob", "cy"]


def test_stats_class_text(classroom: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--class", str(classroom), *PACK]) == 0
    out = capsys.readouterr().out
    assert "3 learners, 6 answers, 2 correct (33%)." in out
    assert "accumulate: wrong 3 of 5 (Does .grad pile up?); most picked wrong: A (3×)" in out


def test_stats_class_needs_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--class", str(tmp_path / "nowhere"), *PACK]) == 2
    assert "nowhere: no such directory" in capsys.readouterr().err


def test_a_damaged_learner_store_is_reported_and_the_rest_counted(
    classroom: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (classroom / "dan").mkdir()
    (classroom / "dan" / FILE_NAME).write_bytes(b"not a database at all" * 100)
    assert main(["stats", "--class", str(classroom), "--json", *PACK]) == 1
    captured = capsys.readouterr()
    assert "dan's progress could not be read" in captured.err
    assert json.loads(captured.out)["answered"] == 6
