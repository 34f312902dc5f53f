"""Leeches in the app: the sixth miss says so, the drill leaves it out, `k` opens a closer look
with every hint, and a right answer from there brings it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual import events
from textual.widgets import Input, Static, Tree

from gradquiz.browse import Filters
from gradquiz.classroom.session import EDITING_ENV
from gradquiz.format import Library
from gradquiz.progress import open_progress
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.screens.question_list import QuestionListScreen
from gradquiz.tui.screens.stats import StatsScreen
from gradquiz.tui.widgets.prose import Prose
from tests.tui.conftest import MakeApp, settle
from tests.tui.test_progress import SIZE, opened, saved_answers, until, until_saved, where


def missed(library: Library, question_id: str, times: int) -> None:
    """`times` wrong answers to the question, a month ago."""
    question = library.get(question_id)
    assert question is not None
    progress, notices = open_progress()
    assert notices == []
    then = datetime.now(UTC) - timedelta(days=30)
    for n in range(times):
        progress.record(
            question,
            response="B",
            correct=False,
            seconds=30,
            torch=None,
            now=then + timedelta(minutes=n),
        )
    progress.store.close()


def verdict(app: GradquizApp) -> str:
    return str(app.screen.query_one("#verdict").render())


async def test_the_sixth_miss_makes_a_leech_and_a_right_closer_look_clears_it(
    make_app: MakeApp, library: Library
) -> None:
    missed(library, "accumulate", 5)
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await settle(pilot)
        assert "leech" not in where(app)
        await pilot.press("2", "enter")  # B: wrong, the sixth time
        await until_saved(pilot, 6)
        await until(pilot, lambda: "leech now" in verdict(app))
        assert verdict(app).endswith(
            "Missed 6 times: a leech now, so it leaves your drills. Press k for a closer look "
            "(every hint, o for the playground); a right answer brings it back."
        )
        assert app.quiz.leeches == {"accumulate"}
        assert where(app).endswith("✗ wrong · ⚑ leech")
        # A drill serves the other questions, not the leech.
        await pilot.press("g")
        await until(pilot, lambda: app.quiz.drill is not None)
        assert app.quiz.drill is not None
        assert "accumulate" not in [q.id for q in app.quiz.drill.questions]
        app.quiz.end_drill()
        app.quiz.go_to("accumulate")
        await app.show_current()
        await pilot.press("k")
        await until(pilot, lambda: bool(app.screen.query("#closer-look")))
        banner = str(app.screen.query_one("#closer-look", Static).render())
        assert banner == (
            "⚑ Leech: missed 6 times, so it left your drills. Take a closer look: every hint "
            "is shown below. o opens its experiment in the playground to try it out. Answer "
            "it right and it comes back to your drills."
        )
        hints = app.screen.query_one("#hints", Prose).source
        assert "**Hint 1/2.**" in hints and "**Hint 2/2.**" in hints
        question = app.quiz.question
        assert question is not None and app.quiz.answered(question) is None
        await pilot.press("1", "enter")  # A: right
        await until_saved(pilot, 7)
        await until(pilot, lambda: "Leech cleared" in verdict(app))
        assert app.quiz.leeches == set()
        answered = app.quiz.answered(question)
        # Every hint was on the screen: a right answer is Good, not Easy.
        assert answered is not None and answered.hints == 2
        assert saved_answers()[-1][:3] == ("accumulate", '"A"', 1)
        assert "leech" not in where(app)


async def test_undo_of_the_clearing_answer_makes_it_a_leech_again(
    make_app: MakeApp, library: Library
) -> None:
    missed(library, "accumulate", 6)
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await settle(pilot)
        await until(pilot, lambda: bool(app.screen.query("#closer-look")))
        assert where(app).endswith("✗ wrong · ⚑ leech")
        await pilot.press("1", "enter")
        await until_saved(pilot, 7)
        await until(pilot, lambda: "Leech cleared" in verdict(app))
        await pilot.press("ctrl+z")
        await until(pilot, lambda: len(saved_answers()) == 6)
        await until(pilot, lambda: bool(app.screen.query("#closer-look")))
        assert app.quiz.leeches == {"accumulate"}


def leaf_ids(app: GradquizApp) -> list[str]:
    tree = app.screen.query_one(Tree)
    return [
        leaf.data
        for pack in tree.root.children
        for topic in pack.children
        for leaf in topic.children
        if leaf.data is not None
    ]


async def test_the_list_filters_by_state_type_topic_and_words_as_typed(
    make_app: MakeApp, library: Library
) -> None:
    missed(library, "accumulate", 6)
    missed(library, "how-much", 1)
    app = make_app("pick-many")
    everything = [q.id for q in library.questions]
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, QuestionListScreen))
        await pilot.pause()
        assert leaf_ids(app) == everything
        filters = app.screen.query_one("#list-filters", Static)
        assert str(filters.render()) == (
            f"topic: any · type: any · state: any · {len(everything)} of {len(everything)} shown"
        )
        leech = next(
            str(leaf.label)
            for pack in app.screen.query_one(Tree).root.children
            for topic in pack.children
            for leaf in topic.children
            if leaf.data == "accumulate"
        )
        assert leech.startswith("✗ wrong  due ") and "⚑ leech Where does the gradient go?" in leech
        await pilot.press("s")  # new
        assert leaf_ids(app) == [q for q in everything if q not in ("accumulate", "how-much")]
        await pilot.press("s", "s")  # due (the leech is not), then wrong
        assert app.screen.filters.state == "wrong"  # type: ignore[attr-defined]
        assert leaf_ids(app) == ["accumulate", "how-much"]
        await pilot.press("s")  # leech
        assert leaf_ids(app) == ["accumulate"]
        assert str(filters.render()).endswith("state: leech · 1 of 7 shown")
        await pilot.press("s", "y")  # any state; the first type in order: multiple
        assert leaf_ids(app) == [q.id for q in library.questions if q.type == "multiple"]
        await pilot.press("c", "t")  # the first topic in order: accumulation
        assert leaf_ids(app) == [q.id for q in library.questions if q.topic == "accumulation"]
        await pilot.press("c", "slash")
        assert app.screen.query_one("#list-text", Input).has_focus
        # Letters go to the words, not to the keys: `s` and `t` are typed here.
        await pilot.press(*"gradient")
        assert leaf_ids(app) == [
            q.id
            for q in library.questions
            if "gradient" in (f"{q.id} {q.title.get()} {q.topic} {q.prompt.get()}".lower())
        ]
        await pilot.press("space", *"where")
        assert leaf_ids(app) == ["accumulate"]
        await pilot.press("space", *"nothing")
        assert leaf_ids(app) == []
        assert app.screen.query_one("#list-empty").display
        await pilot.press("escape")  # out of the words, still in the list
        assert isinstance(app.screen, QuestionListScreen)
        await pilot.press("c")
        assert leaf_ids(app) == everything
        assert app.screen.query_one("#list-text", Input).value == ""
        await pilot.press("slash", *"where", "enter")
        assert app.screen.query_one(Tree).has_focus
        await pilot.press("enter")  # the one left: jump to it
        await until(pilot, lambda: not isinstance(app.screen, QuestionListScreen))
        question = app.quiz.question
        assert question is not None and question.id == "accumulate"
        await until(pilot, lambda: bool(app.screen.query("#closer-look")))


async def test_words_typed_in_one_burst_after_the_slash_all_go_to_the_words(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, QuestionListScreen))
        await pilot.pause()
        # `l` would leave the list and `t` cycle the topic, were they read as the list's keys.
        for key in ("slash", *"let 1/k"):
            character = {"slash": "/", " ": " "}.get(key, key)
            name = {" ": "space", "/": "slash"}.get(key, key)
            app.post_message(events.Key(name, character))
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, QuestionListScreen)
        assert app.screen.query_one("#list-text", Input).value == "let 1/k"
        # Out of the words and clearing them, in one burst: `c` is the list's key, not typed.
        app.post_message(events.Key("escape", "\x1b"))
        app.post_message(events.Key("c", "c"))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#list-text", Input).value == ""
        assert app.screen.filters == Filters()
        # Enter in the words goes to the list at once too: the next key is the list's.
        for key, character in (("slash", "/"), ("x", "x"), ("enter", "\r"), ("s", "s")):
            app.post_message(events.Key(key, character))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#list-text", Input).value == "x"
        assert app.screen.filters == Filters(state="new", text="x")
        # A list key before a `/` acts before the words typed after it.
        keys = ("c", "s", "slash", "z", "e", "r", "o", "enter", "s")
        for key in keys:
            app.post_message(events.Key(key, {"slash": "/", "enter": "\r"}.get(key, key)))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.filters == Filters(state="due", text="zero")


async def test_the_stats_screen_names_the_leeches(make_app: MakeApp, library: Library) -> None:
    missed(library, "accumulate", 6)
    app = make_app("pick-many")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StatsScreen))
        await until(pilot, lambda: not app.screen.query_one("#stats").loading)
        leeches = str(app.screen.query_one("#leeches", Static).render())
        assert leeches.splitlines() == [
            "Missed 6 times, these have left your drills: open one from the list (l, and s "
            "until the state is leech) for a closer look; a right answer brings it back.",
            "⚑ Where does the gradient go?",
        ]
        missed_text = str(app.screen.query_one("#most-missed", Static).render())
        assert missed_text == "✗ 6 of 6  Where does the gradient go?  ⚑ leech"


async def test_served_without_editing_the_closer_look_offers_no_playground(
    make_app: MakeApp, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EDITING_ENV, "off")
    missed(library, "accumulate", 6)
    app = make_app("accumulate")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await until(pilot, lambda: bool(app.screen.query("#closer-look")))
        banner = str(app.screen.query_one("#closer-look", Static).render())
        assert "Take a closer look: every hint is shown below. Answer it right" in banner
        assert "playground" not in banner
        await settle(pilot)
