"""`gradquiz stats`, `drill --list` and `reset` against a real progress file."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradquiz.cli import main
from gradquiz.format import load
from gradquiz.progress import open_progress
from gradquiz.progress.store import FILE_NAME
from tests.conftest import PACKS

GOOD = str(PACKS / "good.yaml")
PACK = ["--no-bundled", "--questions", GOOD]


def seed() -> None:
    """accumulate wrong then right, step-rule right, an hour ago."""
    questions = {q.id: q for q in load([PACKS / "good.yaml"]).questions}
    progress, notices = open_progress()
    assert notices == []
    then = datetime.now(UTC) - timedelta(hours=1)
    for qid, correct, offset in (
        ("accumulate", False, 0),
        ("accumulate", True, 1),
        ("step-rule", True, 2),
    ):
        progress.record(
            questions[qid],
            response="A",
            correct=correct,
            seconds=30,
            torch="2.13.0",
            now=then + timedelta(seconds=offset),
        )
    progress.store.close()


def test_stats_json_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert main(["stats", "--json", *PACK]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["answered"] == 3 and document["correct"] == 2
    # accumulate: Again then Good -> due 10 minutes after; step-rule: Good -> 10 minutes.
    assert document["due_now"] == 2
    assert document["by_topic"]["training-loop"]["answered"] == 2
    assert document["most_missed"][0]["id"] == "accumulate"
    assert "streak" not in document


def test_stats_text_and_streak(capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert main(["stats", "--streak", "on", *PACK]) == 0
    out = capsys.readouterr().out
    assert "Answered 3, correct 2 (67%)" in out
    assert "Streak: 1 day in a row." in out
    assert "accumulate: wrong 1 of 2" in out
    # Seven dates for seven days, the bar whole on its own line (stdout is not a terminal).
    today = datetime.now().astimezone().date()
    last = today + timedelta(days=6)
    [line] = [line for line in out.splitlines() if line.startswith("Due in the next")]
    assert line == (
        f"Due in the next 7 days ({today.isoformat()} to {last.isoformat()}): ▁▁▁▁▁▁▁ 0 0 0 0 0 0 0"
    )


def test_stats_export_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert main(["stats", "--export", str(tmp_path / "h.csv"), *PACK]) == 0
    rows = list(csv.DictReader((tmp_path / "h.csv").open()))
    assert [(r["question"], r["correct"]) for r in rows] == [
        ("accumulate", "False"),
        ("accumulate", "True"),
        ("step-rule", "True"),
    ]
    assert main(["stats", "--export", str(tmp_path / "h.json"), *PACK]) == 0
    assert len(json.loads((tmp_path / "h.json").read_text())) == 3
    assert main(["stats", "--export", str(tmp_path / "h.txt"), *PACK]) == 2
    assert "name the export file .csv or .json" in capsys.readouterr().err


def test_drill_list_serves_due_then_new(capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert main(["drill", "--list", *PACK]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["accumulate", "review"],
        ["step-rule", "review"],
        ["retain", "new"],
        ["reduction", "new"],
        ["loop-order", "new"],
    ]
    assert main(["drill", "--list", "--mistakes", *PACK]) == 0
    assert capsys.readouterr().out == ""
    assert main(["drill", "--list", "--limit", "1", "--topic", "training-loop", *PACK]) == 0
    assert capsys.readouterr().out.split("\t")[0] == "accumulate"
    assert main(["drill", "--list", "--topic", "nope", *PACK]) == 2
    assert "no topic 'nope'; the topics are: " in capsys.readouterr().err


def test_reset_needs_confirmation_and_keeps_a_backup(capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert main(["reset", "--all", *PACK]) == 2  # stdin is not a terminal under pytest
    assert "needs --yes" in capsys.readouterr().err
    assert main(["reset", "accumulate", "--yes", *PACK]) == 0
    assert capsys.readouterr().err == "Forgot 2 answers.\n"
    assert main(["reset", "--all", "--yes", *PACK]) == 0
    home = Path(os.environ["GRADQUIZ_HOME"])
    assert list((home / "backups").glob("progress-*.sqlite3"))
    assert main(["stats", "--json", *PACK]) == 0
    assert json.loads(capsys.readouterr().out)["answered"] == 0
    assert main(["reset", "no-such", "--yes", *PACK]) == 2


def test_a_damaged_file_is_reported_by_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    home = Path(os.environ["GRADQUIZ_HOME"])
    home.mkdir(parents=True)
    (home / FILE_NAME).write_bytes(b"\x00garbage" * 50)
    assert main(["stats", "--json", *PACK]) == 0
    err = capsys.readouterr().err
    assert "progress file was damaged" in err and ".damaged-" in err


def test_the_daily_limit_of_new_questions_comes_from_the_settings_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = Path(os.environ["GRADQUIZ_HOME"])
    home.mkdir(parents=True)
    (home / "settings.toml").write_text("new_per_day = 2\n")
    assert main(["drill", "--list", *PACK]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == [
        "accumulate",
        "step-rule",
    ]
    (home / "settings.toml").write_text("new_per_day = 'lots'\n")
    assert main(["drill", "--list", *PACK]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 5
    assert "new_per_day must be a whole number of questions, 0 or more; using 10" in captured.err


def test_a_leech_is_flagged_by_drill_list_and_stats(capsys: pytest.CaptureFixture[str]) -> None:
    questions = {q.id: q for q in load([PACKS / "good.yaml"]).questions}
    progress, notices = open_progress()
    assert notices == []
    then = datetime.now(UTC) - timedelta(days=30)
    for n in range(6):
        progress.record(
            questions["accumulate"],
            response="B",
            correct=False,
            seconds=30,
            torch=None,
            now=then + timedelta(minutes=n),
        )
    progress.store.close()
    assert main(["drill", "--list", *PACK]) == 0
    captured = capsys.readouterr()
    # Served: the new questions; the leech is listed after them, flagged, and not counted.
    assert [line.split("\t")[:3] for line in captured.out.splitlines()] == [
        ["step-rule", "new", "optimizer-step"],
        ["retain", "new", "retain-graph"],
        ["reduction", "new", "reduction"],
        ["loop-order", "new", "training-loop"],
        ["accumulate", "leech", "training-loop"],
    ]
    assert captured.err.splitlines() == [
        "4 questions to drill.",
        "1 leech left out (missed 6 times): answer it right from a closer look in the app "
        "(its hints, the playground) to bring it back.",
    ]
    assert main(["drill", "--list", "--mistakes", *PACK]) == 0
    assert capsys.readouterr().out.split("\t")[:2] == ["accumulate", "leech"]
    assert main(["drill", "--list", "--topic", "reduction", *PACK]) == 0
    assert "leech" not in capsys.readouterr().out
    assert main(["stats", "--json", *PACK]) == 0
    document = json.loads(capsys.readouterr().out)
    title = questions["accumulate"].title.get()
    assert document["leeches"] == [{"id": "accumulate", "title": title, "wrong": 6}]
    assert document["most_missed"][0]["leech"] is True
    assert document["due_now"] == 0
    assert main(["stats", *PACK]) == 0
    out = capsys.readouterr().out
    assert f"accumulate: wrong 6 of 6 ({title}) · leech" in out
    assert f"  accumulate: wrong 6 times ({title})" in out
    assert "1 leech, missed 6 times and left out of drills" in out
