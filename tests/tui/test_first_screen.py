"""What the first screen is made of: the one-widget key bar, Rich-drawn question text, and the
collector paused while it is drawn."""

from __future__ import annotations

import gc

from rich.segment import Segment
from rich.style import Style

from gradquiz import locations, startup
from gradquiz.format import load_first
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.quiz import QuizScreen
from gradquiz.tui.widgets.answers import ChoiceAnswer
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.prose import Prose, theme_for
from tests.tui.conftest import MakeApp, settle

SIZE = (120, 40)


def bar(app: GradquizApp) -> KeyBar:
    return app.screen.query_one(KeyBar)


def drawn(app: GradquizApp, prose: Prose, width: int = 100) -> list[list[Segment]]:
    return app.console.render_lines(prose.themed(), app.console.options.update_width(width))


async def test_the_key_bar_shows_each_key_with_its_words_and_the_palette_on_the_right(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = str(bar(app).render())
        assert len(line) == SIZE[0]
        for words in ("⏎ Submit", "1-9 Pick", "h Hint", "n Next", "p Previous", "? Keys"):
            assert words in line
        assert line.rstrip().endswith("^p palette")
        # True/False keys belong to truefalse questions only; light/dark lives in the help.
        assert "True" not in line and "Light" not in line
        await settle(pilot)


async def test_a_narrow_key_bar_drops_the_last_keys_words_first(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        line = str(bar(app).render())
        assert len(line) == 80
        assert "⏎ Submit" in line and "1-9 Pick" in line
        assert "Questions" not in line and "Quit" not in line
        assert " l " in line and " ^q " in line and "^p palette" in line
        await settle(pilot)


async def test_clicking_a_key_runs_it_and_a_greyed_key_does_nothing(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = {key.description: key for key in bar(app).shown}
        await pilot.click(KeyBar, offset=(keys["Next"].start + 1, 0))
        assert isinstance(app.screen, QuizScreen) and app.quiz.position == 1
        await pilot.click(KeyBar, offset=(keys["Previous"].start + 1, 0))
        assert app.quiz.position == 0
        # Nothing picked yet: picking is enabled, and submitting explains rather than runs.
        await pilot.press("1", "enter")
        await settle(pilot)
        submit = bar(app).key_at(keys["Submit"].start)
        assert submit is not None and not submit.enabled
        answered = dict(app.quiz.answers)
        await pilot.click(KeyBar, offset=(keys["Pick"].start + 1, 0))
        assert app.quiz.answers == answered
        assert app.screen.query_one(ChoiceAnswer).chosen_ids() == ["A"]


async def test_question_text_follows_the_theme(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        prompt = app.screen.query_one("#prompt", Prose)
        dark = theme_for(app).styles["markdown.code"]
        app.theme = "textual-light"
        await pilot.pause()
        light = theme_for(app).styles["markdown.code"]
        assert dark != light
        assert isinstance(light, Style) and light.bgcolor is not None
        # What is drawn uses it: the prompt's inline code carries the light theme's colour.
        code = [s for line in drawn(app, prompt) for s in line if s.text.strip() == "zero_grad()"]
        assert code and all(s.style is not None and s.style.color == light.color for s in code)
        await settle(pilot)


async def test_question_tables_are_drawn_as_tables(shared_lab: SharedLab) -> None:
    # The first bundled question's prompt holds a Markdown table of three steps.
    library = load_first([locations.bundled_questions()])
    app = GradquizApp(library, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = [
            "".join(s.text for s in line)
            for line in drawn(app, app.screen.query_one("#prompt", Prose))
        ]
        header = next(line for line in lines if "w.grad" in line)
        assert "step" in header and "|" not in header
        rows = [line.split() for line in lines if line.split()[:1] in (["1"], ["2"], ["3"])]
        assert rows == [["1", "-0.587940"], ["2", "-1.173027"], ["3", "-1.752409"]]
        await settle(pilot)


async def test_the_collector_resumes_frozen_once_the_first_question_is_drawn(
    make_app: MakeApp,
) -> None:
    app = make_app()
    frozen = gc.get_freeze_count()
    startup.pause()
    try:
        assert not gc.isenabled()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.painted.is_set()
            assert gc.isenabled()
            assert gc.get_freeze_count() > frozen
    finally:
        startup.resume()
        gc.enable()
        gc.unfreeze()


def test_resume_without_pause_leaves_the_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        startup.resume()
        assert not gc.isenabled()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()


async def test_a_numeric_question_shows_enter_as_submit_while_typing(make_app: MakeApp) -> None:
    app = make_app("how-much")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "number"
        assert "⏎ Submit" in str(bar(app).render())
        await settle(pilot)


async def test_the_key_bar_shows_one_key_per_action(make_app: MakeApp) -> None:
    app = make_app("arrange")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = str(bar(app).render())
        # shift+up and u both move a line up: the first bound is shown, once.
        assert line.count("Move up") == 1 and "shift+↑ Move up" in line
        await settle(pilot)


def key_of(app: GradquizApp, choice_id: str) -> str:
    """The number key of a choice where this attempt's draw put it."""
    question = app.quiz.question
    assert question is not None
    return str([c.id for c in question.choices].index(choice_id) + 1)


async def test_on_a_short_terminal_the_verdict_scrolls_into_sight(shared_lab: SharedLab) -> None:
    # The first bundled question fills 80x24 before the lab: its verdict lands below the fold.
    library = load_first([locations.bundled_questions()])
    app = GradquizApp(library, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        body = app.screen.query_one("#body")
        await pilot.press(key_of(app, "B"), "enter")
        await settle(pilot)
        await pilot.pause()
        verdict = app.screen.query_one("#verdict")
        assert "Right" in str(verdict.render())
        assert body.scroll_y > 0
        assert verdict.region and body.region.contains_region(verdict.region)


async def test_where_the_verdict_is_in_sight_nothing_scrolls(shared_lab: SharedLab) -> None:
    # At 120x40 the lab runs past the bottom, but the verdict itself is in sight.
    library = load_first([locations.bundled_questions()])
    app = GradquizApp(library, lambda question: True, workers=1, lab=shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key_of(app, "B"), "enter")
        await settle(pilot)
        await pilot.pause()
        body = app.screen.query_one("#body")
        assert body.max_scroll_y > 0
        assert body.scroll_y == 0
