"""What a newcomer tripped on: plots, help, the palette, hints, the list, messages out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.command import CommandList
from textual.geometry import Region
from textual.widgets import Static, Tree

from gradquiz.tui.app import GradquizApp
from gradquiz.tui.screens.help import HelpScreen
from gradquiz.tui.screens.question_list import QuestionListScreen, due_text
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.lab import VariantNotes, y_range
from tests.tui.conftest import MakeApp, settle
from tests.tui.test_progress import SIZE, opened, toasts, until_saved, until_toast


def test_a_flat_line_or_one_point_gets_room_around_it() -> None:
    assert y_range([2.0, 2.0, 2.0]) == (1.8, 2.2)
    assert y_range([5.0]) == (4.5, 5.5)
    assert y_range([0.0]) == (-1.0, 1.0)
    assert y_range([]) == (-1.0, 1.0)
    assert y_range([1.0, float("nan"), 3.0]) == (1.0, 3.0)


def test_due_dates_read_in_days() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert due_text(None, now) == ""
    assert due_text(now - timedelta(hours=1), now) == "due now"
    assert due_text(now + timedelta(minutes=10), now) == "due today"
    assert due_text(now + timedelta(days=1), now) == "due tomorrow"
    assert due_text(now + timedelta(days=5), now) == "due in 5 days"
    assert due_text(now + timedelta(days=40), now) == "due 10 Jan"


async def test_pick_an_answer_first_is_brought_into_sight_at_80x24(make_app: MakeApp) -> None:
    app = make_app("pick-many")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # true-or-false: its two choices, then the line below them
        await settle(pilot)
        body = app.screen.query_one("#body")
        body.scroll_home(animate=False)
        await pilot.press("enter")
        await pilot.pause()
        problem = app.screen.query_one("#problem", Static)
        assert "Pick an answer first" in str(problem.render())
        assert body.region.contains_region(problem.region)


async def test_h_without_hints_says_so(make_app: MakeApp) -> None:
    app = make_app("true-or-false")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await until_toast(pilot, "This question has no hints.")
        await settle(pilot)


async def test_one_help_whichever_way_it_is_asked_for(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"keys")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert not app.screen.query("HelpPanel")
        await pilot.press("question_mark")  # `?` on the help closes it: never a second help
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, QuizScreen)
        await settle(pilot)


async def test_the_screenshot_goes_to_the_current_folder_without_downloads(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.action_screenshot_here()
        await until_toast(pilot, "Screenshot saved:")
        assert len(list(tmp_path.glob("*.svg"))) == 1
        await settle(pilot)


async def test_the_list_colours_its_marks_shows_due_dates_and_resets_only_the_answered(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("1", "enter")  # accumulate: A is right
        await settle(pilot)
        await until_saved(pilot, 1)
        await pilot.pause(0.2)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, QuestionListScreen)
        tree = app.screen.query_one(Tree)
        leaves = [n for pack in tree.root.children for t in pack.children for n in t.children]
        first = leaves[0].label
        assert isinstance(first, Text)
        assert first.plain.startswith("✓ right  due ")
        success = app.theme_variables["success"]
        assert any(str(span.style) == success for span in first.spans)
        assert app.screen.check_action("reset", ()) is True
        tree.move_cursor(leaves[1])  # pick-many: never answered
        await pilot.pause()
        assert app.screen.check_action("reset", ()) is None
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, QuestionListScreen)  # no dialog for nothing to forget
        await pilot.press("escape")
        await settle(pilot)


def hostile_pack(directory: Path) -> Path:
    pack = directory / "evil.yaml"
    pack.write_text(
        """\
pack:
  title: "Evil\\nPack: forged line \\e]0;pwned\\a"
  authors: ["Mal\\nlory"]
questions:
  - id: evil
    type: truefalse
    topic: hostile
    title: "Clipboard \\e]52;c;aGk=\\a [/] [bold]loud[/bold]"
    prompt: "Prompt with \\e[31mred\\e[0m and [b]markup[/b]."
    experiment:
      code: |
        w = 1
        print("\\x1b[2J cleared?")
      watch:
        "w \\e[2J": w
    answer: true
""",
        encoding="utf-8",
    )
    return pack


async def test_pack_text_is_shown_escaped_and_as_written(
    tmp_path: Path, shared_lab: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradquiz.packs import discover
    from gradquiz.tui.labpool import SharedLab
    from gradquiz.tui.screens.dialogs import TrustDialog

    assert isinstance(shared_lab, SharedLab)
    monkeypatch.setenv("GRADQUIZ_PATH", str(hostile_pack(tmp_path)))
    catalog = discover(bundled=False)
    app = GradquizApp(catalog.library, catalog, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title = app.screen.query_one("#title", Static)
        shown = title.render()
        text = "".join(segment.text for segment in app.console.render(shown))  # type: ignore[arg-type]
        assert "\x1b" not in text and "\\x1b]52;c;aGk=\\x07 [/] [bold]loud[/bold]" in text
        # The palette lists the title as written: `[/]` no longer crashes it.
        await pilot.press("ctrl+p")
        await pilot.press(*"clipboard")
        await pilot.pause(0.5)
        hits = app.screen.query_one(CommandList)
        prompts = [str(hits.get_option_at_index(n).prompt) for n in range(hits.option_count)]
        assert any(
            "Jump to: Clipboard \\x1b]52;c;aGk=\\x07 [/] [bold]loud[/bold]" in hit
            for hit in prompts
        ), prompts
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, TrustDialog)
        details = str(app.screen.query_one("#trust-details", Static).render())
        lines = details.splitlines()
        assert lines[0] == "Pack:     Evil\\x0aPack: forged line \\x1b]0;pwned\\x07"
        assert lines[2] == "Authors:  Mal\\x0alory"
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("t", "enter")
        await settle(pilot)
        output = " ".join(
            strip.text
            for notes in app.screen.query(VariantNotes)
            for strip in notes.render_lines(Region(0, 0, *notes.size))
        )
        assert "\\x1b[2J cleared?" in output and "\x1b" not in output
    assert "\x1b" not in toasts(app)


async def test_the_palette_runs_the_quiz_actions_by_name(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"question list")
        await pilot.pause(0.5)
        await pilot.press("enter")
        for _ in range(50):
            if isinstance(app.screen, QuestionListScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, QuestionListScreen)
        await pilot.press("escape")
        await settle(pilot)
