"""Drawn attempts and trace questions in the app: numbers and letters per attempt, a table's
blanks filled in from the keyboard, PyTorch's values beside the learner's."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

from rich.console import Console
from textual.widgets import Input, Label, Static

from gradquiz import locations
from gradquiz.blanks import Cells
from gradquiz.format import load
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.widgets.answers import ChoiceRow, ErrorPicker
from gradquiz.tui.widgets.lab import LabPanel
from gradquiz.tui.widgets.prose import Prose
from tests.tui.conftest import MakeApp, settle
from tests.tui.test_progress import opened, saved_answers, until, until_saved


def text_of(widget: Static) -> str:
    """What a Static shows, as plain lines."""
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def bundled_app(start: str, shared_lab: SharedLab, tmp_path: Path) -> GradquizApp:
    library = load([locations.bundled_questions()])
    return GradquizApp(library, lambda question: True, start=start, workers=1, lab=shared_lab)


async def test_a_parameterised_question_shows_its_drawn_value_and_runs_it(
    shared_lab: SharedLab, tmp_path: Path
) -> None:
    app = bundled_app("trace-sgd-steps-by-hand", shared_lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        question = app.quiz.question
        assert question is not None and question.draw is not None
        lr = {0: "0.1", 1: "0.25", 2: "0.2"}[question.draw.number]
        prompt = app.screen.query_one("#prompt", Prose).source
        assert "{{" not in prompt and f"lr={lr})" in prompt


async def test_letters_follow_the_shown_order_and_become_ids_once_answered(
    shared_lab: SharedLab, tmp_path: Path
) -> None:
    library = load([locations.bundled_questions()])
    first = library.questions[0]
    app = GradquizApp(library, lambda question: True, start=first.id, workers=1, lab=shared_lab)
    # A draw known to shuffle this question's choices.
    app.quiz.rng = random.Random(3)
    app.quiz.attempts.clear()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        shown = app.quiz.question
        assert shown is not None
        rows = list(app.screen.query(ChoiceRow))
        assert [r.label for r in rows] == [f"{chr(65 + i)}." for i in range(len(rows))]
        key = first.answer
        assert isinstance(key, str)
        ids = [c.id for c in shown.choices]
        await pilot.press(str(ids.index(key) + 1), "enter")
        await settle(pilot)
        answered = app.quiz.answered(shown)
        assert answered is not None and answered.verdict is not None and answered.verdict.correct
        # Answered, the choices are back in the order written, each lettered by its id as the
        # verdict and the explanation name them; the pick is still marked, under its id.
        written = [c.id for c in first.choices]
        assert ids != written  # this draw did shuffle them
        rows = list(app.screen.query(ChoiceRow))
        assert [r.label for r in rows] == [f"{i}." for i in written]
        texts = {c.id: c.text.get() for c in first.choices}
        assert [r.source for r in rows] == [texts[i] for i in written]
        assert [r.mark for r in rows] == [f"  {'(•)' if i == key else '( )'} {i}." for i in written]
        assert str(app.screen.query_one("#verdict").render()).startswith(
            f"✓ Right. The answer is {key}."
        )
        # The lab lists the variants as written too.
        tables = app.screen.query_one("#lab", LabPanel).tables()
        assert tables is not None
        assert [c.heading.variant for c in tables.cards] == written
        # A wrong pick: its letter changed with the order, so the verdict says which it is now.
        await pilot.press("ctrl+z")
        await settle(pilot)
        shown = app.quiz.question
        assert shown is not None
        wrong = next(n for n, c in enumerate(shown.choices) if c.id != key)
        await pilot.press(str(wrong + 1), "enter")
        await settle(pilot)
        assert str(app.screen.query_one("#verdict").render()).startswith(
            f"✗ Not quite. You picked {shown.choices[wrong].id}. The answer is {key}."
        )


async def test_a_trace_table_is_filled_with_tab_and_graded_cell_by_cell(
    shared_lab: SharedLab, tmp_path: Path
) -> None:
    app = bundled_app("trace-second-backward-raises", shared_lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.query_one("#blank-0", Input)
        assert first.has_focus
        code = str(app.screen.query_one(".trace-code").render())
        setup = "w = torch.tensor(1.5, requires_grad=True)\ny = w ** 2"
        assert code == f"# setup\n{setup}\n# each of 3 steps\ny.backward()"
        # Row 1 is a blank, row 2 is where it raises: nothing of the answer is on screen.
        table = [
            line.rstrip()
            for line in text_of(app.screen.query_one("#trace-table", Static)).splitlines()
        ]
        assert table == ["row  w.grad", "1    ▢", "2    raises ▢"]
        await pilot.press("enter")  # nothing typed: explained, not submitted
        assert "row 1, w.grad: Type a number first" in str(
            app.screen.query_one("#problem").render()
        )
        question = app.quiz.question
        assert question is not None and app.quiz.answered(question) is None
        await pilot.press("3", "tab")
        picker = app.screen.query_one("#blank-1", ErrorPicker)
        assert picker.has_focus
        await pilot.press("right")
        assert picker.value == "RuntimeError"
        await pilot.press("enter")
        await settle(pilot)
        answered = app.quiz.answered(question)
        assert answered is not None and answered.response == Cells((3.0, "RuntimeError"))
        assert answered.verdict is not None and answered.verdict.correct
        truth = [str(app.screen.query_one(f"#truth-{i}", Label).render()) for i in (0, 1)]
        # w = 1.5, y = w ** 2: dy/dw = 3; the second backward finds the graph freed.
        assert truth == ["✓ PyTorch: 3.000000", "✓ PyTorch: RuntimeError"]


async def test_ctrl_z_takes_back_a_saved_answer_and_the_verdict_said_when_it_comes_back(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot)
        await settle(pilot)
        question = app.quiz.question
        assert question is not None and question.id == "accumulate"
        await pilot.press("1", "enter")  # A is right
        await until_saved(pilot, 1)
        await settle(pilot)
        await pilot.pause()
        verdict = str(app.screen.query_one("#verdict").render())
        # Right at once without a hint is Easy: FSRS brings a new question back in days.
        assert re.fullmatch(r"✓ Right\. The answer is A\. Next review in \d+ days\.", verdict)
        await pilot.press("ctrl+z")
        await until(pilot, lambda: not saved_answers())
        await pilot.pause()
        shown = app.quiz.question
        assert shown is not None and shown.id == "accumulate" and shown.draw == question.draw
        assert app.quiz.answered(shown) is None and app.quiz.state("accumulate") == "new"
        assert not app.screen.query_one("#answer").disabled
        await pilot.press("ctrl+z")
        assert app.quiz.to_undo() == "Nothing to undo in this session."
