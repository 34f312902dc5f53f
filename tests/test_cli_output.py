"""The command line's output, whatever a pack says and wherever the output goes.

Pack text is hostile: control characters reach the terminal escaped, Rich markup shows as
written, and nothing forges an extra line. Output to a closed pipe, a non-UTF-8 locale, no
terminal, a missing directory or too many workers: a one-line message and the right exit code.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gradquiz.cli import listing, main
from gradquiz.format import load
from gradquiz.progress import open_progress
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

GOOD = str(PACKS / "good.yaml")
ESC = "\x1b"
# OSC 52 sets the clipboard, OSC 0 the window title, CSI 2J clears the screen.
HOSTILE = """\
pack:
  title: "Week one\\e]52;c;ZXZpbA==\\a\\nforged: trusted /etc/passwd"
  authors: ["Mallory\\e[2J"]
questions:
  - id: hostile
    type: truefalse
    topic: hostile
    title: "[/] [bold]loud[/bold] \\e]0;owned\\a"
    prompt: p
    experiment:
      code: |
        label = "\\x1b[31mred\\x1b[0m [/]"
        print("printed \\x1b]52;c;ZXZpbA==\\x07")
      watch:
        label: label
    answer: true
"""


def hostile(directory: Path) -> Path:
    return write(directory, "hostile.yaml", HOSTILE)


def no_raw_controls(text: str) -> None:
    assert ESC not in text and "\a" not in text, text


def test_list_shows_markup_and_escapes_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = hostile(tmp_path)
    assert main(["list", "--no-bundled", "--questions", str(pack)]) == 0
    out = capsys.readouterr().out
    no_raw_controls(out)
    # Not a terminal: plain rows, fields split by tabs.
    assert out == "hostile\ttruefalse\thostile\t[/] [bold]loud[/bold] \\x1b]0;owned\\x07\n"


def test_list_table_on_a_terminal_shows_markup_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = hostile(tmp_path)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["list", "--no-bundled", "--questions", str(pack), "--questions", GOOD]) == 0
    lines = capsys.readouterr().out.splitlines()
    no_raw_controls("\n".join(lines))
    assert lines[0] == "id          type       topic           title"
    assert lines[1] == "hostile     truefalse  hostile         [/] [bold]loud[/bold]"
    # The title folds under its column, never past the terminal's 60 columns.
    assert lines[2] == " " * 39 + "\\x1b]0;owned\\x07"
    assert all(len(line) <= 60 for line in lines)


def test_list_table_of_five_thousand_questions_is_quick() -> None:
    import time

    rows = [(f"question-{n}", "single", "topic", f"Title number {n} " * 3) for n in range(5000)]
    out = io.StringIO()
    started = time.perf_counter()
    saved, sys.stdout = sys.stdout, out
    try:
        listing.table(rows)
    finally:
        sys.stdout = saved
    assert time.perf_counter() - started < 1.0
    assert out.getvalue().count("\n") >= 5001


def test_trust_output_is_two_lines_whatever_the_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = hostile(tmp_path)
    assert main(["trust", str(pack)]) == 0
    out = capsys.readouterr().out
    no_raw_controls(out)
    first, second = out.splitlines()
    assert first.startswith(f"trusted {pack.resolve()} (sha256 ")
    assert second == (
        "  “Week one\\x1b]52;c;ZXZpbA==\\x07\\x0aforged: trusted /etc/passwd”, "
        "by Mallory\\x1b[2J: 1 question, 2 code snippets"
    )


def test_run_shows_markup_values_and_output_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = hostile(tmp_path)
    assert main(["run", "hostile", "--no-bundled", "--questions", str(pack)]) == 0
    out = capsys.readouterr().out
    no_raw_controls(out)
    assert "[/] [bold]loud[/bold] \\x1b]0;owned\\x07  (hostile)" in out
    assert "\\x1b[31mred\\x1b[0m [/]" in out
    assert "printed \\x1b]52;c;ZXZpbA==\\x07" in out


def test_check_and_export_escape_what_the_runs_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raises = """\
id: raises
type: truefalse
topic: hostile
title: t
prompt: p
experiment:
  setup: |
    def fail():
        raise ValueError("\\x1b]52;c;eA==\\x07")
  code: x = 1
answer: true
verify: {expr: "fail()"}
"""
    pack = write(tmp_path, "raises.yaml", raises)
    assert main(["check", str(pack)]) == 1
    out = capsys.readouterr().out
    no_raw_controls(out)
    said = "verify expr failed in main: ValueError: \\x1b]52;c;eA==\\x07"
    assert out == f"{pack}:12:1: {said}\n"
    assert main(["check", str(pack), "--format", "junit"]) == 1
    junit = capsys.readouterr().out
    no_raw_controls(junit)
    [failure] = ElementTree.fromstring(junit).iter("failure")
    assert failure.get("message") == said
    handout = tmp_path / "handout.md"
    assert main(["export", str(hostile(tmp_path)), "-o", str(handout)]) == 0
    no_raw_controls(handout.read_text())
    assert "## [/] [bold]loud[/bold] \\x1b]0;owned\\x07" in handout.read_text()


def test_drill_list_and_stats_escape_titles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = hostile(tmp_path)
    [question] = load([pack]).questions
    progress, _ = open_progress()
    now = datetime.now(UTC) - timedelta(hours=1)  # due again by now
    progress.record(question, response=False, correct=False, seconds=3, torch=None, now=now)
    progress.store.close()
    flags = ["--no-bundled", "--questions", str(pack)]
    assert main(["drill", "--list", *flags]) == 0
    assert capsys.readouterr().out == (
        "hostile\treview\thostile\t[/] [bold]loud[/bold] \\x1b]0;owned\\x07\n"
    )
    assert main(["stats", *flags]) == 0
    out = capsys.readouterr().out
    no_raw_controls(out)
    assert "  hostile: wrong 1 of 1 ([/] [bold]loud[/bold] \\x1b]0;owned\\x07)" in out


def test_a_pack_file_named_with_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = write(tmp_path, f"evil{ESC}[2J.yaml", HOSTILE)
    assert main(["packs", "--no-bundled", "--questions", str(pack)]) == 0
    out = capsys.readouterr().out
    no_raw_controls(out)
    assert "evil\\x1b[2J.yaml" in out


def test_gradquiz_path_through_a_fifo_and_proc_costs_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    monkeypatch.setenv("GRADQUIZ_PATH", f"{fifo}:/proc:{GOOD}")
    assert main(["list", "--no-bundled"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 5
    assert captured.err.splitlines() == [
        "2 problems while loading:",
        f"{fifo}:1:1: is a FIFO (named pipe), not a question file",
        "/proc:1:1: is a pseudo file system of the kernel; no packs are read from it",
    ]


def test_the_app_needs_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # Under pytest stdin is not a terminal.
    assert main(["--no-bundled", "--questions", GOOD]) == 2
    assert capsys.readouterr().err == (
        "gradquiz: the app needs a terminal (stdin and stdout are not one); "
        "`gradquiz list`, `run` and `check` work without\n"
    )


def test_a_missing_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no" / "such"
    for command in (
        ["stats", "--export", str(missing / "h.csv")],
        ["export", GOOD, "-o", str(missing / "h.md")],
        ["schema", "-o", str(missing / "s.json")],
    ):
        assert main(command) == 2, command
        assert capsys.readouterr().err.splitlines() == [
            f"gradquiz: cannot write {missing / Path(command[-1]).name}: no directory {missing}"
        ]
    assert main(["new", "fresh", "-o", str(missing / "q.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"gradquiz: cannot write {missing / 'q.yaml'}: No such file or directory\n"
    )


def test_too_many_workers_for_the_open_file_limit(capsys: pytest.CaptureFixture[str]) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert main(["check", GOOD, "--workers", str(soft)]) == 2
    most = (soft - 64) // 4
    assert capsys.readouterr().err == (
        f"gradquiz: --workers {soft} needs more open files than the limit allows ({soft}); "
        f"use at most {most}, or raise the limit with `ulimit -n`\n"
    )
    assert main(["check", GOOD, "--workers", "0"]) == 2
    assert capsys.readouterr().err == "gradquiz: --workers must be at least 1, not 0\n"


def test_reset_and_streak_on_a_read_only_home_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A home under a plain file cannot be made, even by root.
    monkeypatch.setenv("GRADQUIZ_HOME", str(write(tmp_path, "a-file", "") / "home"))
    assert main(["reset", "--all", "--yes", "--no-bundled", "--questions", GOOD]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("gradquiz: Progress is not being saved: ")
    assert err[1:] == ["gradquiz: nothing was reset: your progress file cannot be written"]
    assert main(["stats", "--streak", "on", "--no-bundled", "--questions", GOOD]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        "gradquiz: the streak setting was not changed: your progress file cannot be written"
    ]


def test_help_offers_question_only_where_it_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--question ID" in capsys.readouterr().out
    for command in ("list", "run", "check", "stats", "drill", "trust", "packs"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--question " not in out and "--questions PATH" in out, command
    # Not read as an abbreviation of --questions either.
    assert main(["list", "--question", "accumulate"]) == 2
    assert "unrecognized arguments: --question accumulate" in capsys.readouterr().err


# --- end to end: what only a real process shows ---------------------------------------------


def _gradquiz(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # No PYTHONIOENCODING or LANG of the test run's: the locale is `env`'s alone.
    inherited = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LANG")}
    return subprocess.Popen(
        [sys.executable, "-m", "gradquiz", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**inherited, **env},
    )


def test_end_to_end_output_to_a_closed_pipe() -> None:
    process = _gradquiz("list", env={})
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader left before the first line
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert err == "gradquiz: output closed early (broken pipe)\n"


def test_end_to_end_a_locale_that_is_not_utf8() -> None:
    # What Python sees under LANG=C where the C locale is not coerced to UTF-8.
    ascii_env = {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    args = ("list", "--lang", "zh", "--no-bundled", "--questions", GOOD)
    listed = _gradquiz(*args, env=ascii_env)
    out, err = listed.communicate(timeout=60)
    assert listed.returncode == 0, err
    assert out.decode("ascii").splitlines()[0] == (
        "accumulate\tsingle\ttraining-loop\t\\u68af\\u5ea6\\u4f1a\\u7d2f\\u52a0\\u5417\\uff1f"
    )
    as_json = _gradquiz(*args, "--json", env=ascii_env)
    out, _ = as_json.communicate(timeout=60)
    assert json.loads(out.decode("ascii"))[0]["title"] == "Does .grad pile up?"
