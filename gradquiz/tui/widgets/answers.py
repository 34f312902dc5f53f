"""How the learner answers: one widget per kind of answer, each able to say what was answered.

`response()` gives the answer in the form `grading.grade` takes, or raises `Incomplete` with a
sentence the screen shows, so a bad answer is explained instead of ignored.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text as RichText
from textual import events
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input

from gradquiz.display import number, one_line, printable
from gradquiz.format.model import Question
from gradquiz.i18n import N_, _
from gradquiz.tui.messages import InTurn
from gradquiz.tui.widgets.prose import Prose

if TYPE_CHECKING:
    from gradquiz.grading import Response
    from gradquiz.lab.protocol import VariantResult


class Incomplete(Exception):
    """The answer cannot be submitted yet; the message says why."""


def letter(index: int) -> str:
    """The letter of the choice shown `index`-th (0-based): the draw shuffles the choices, so
    while answering the letters follow the order shown and give no choice's id away."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


class ChoiceRow(Prose):
    """One choice, drawn as one widget (a first screen has up to nine): its key, a box showing
    whether it is picked, and its text beside them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"choice--mark"}
    MARK_WIDTH = 12

    @dataclass
    class Clicked(Message):
        index: int

    def __init__(self, index: int, key: str, label: str, text: str) -> None:
        super().__init__(text, classes="choice")
        self.index = index
        self.key = key
        self.label = label
        self.mark = ""

    def show(self, picked: bool, round_box: bool) -> None:
        box = ("(•)" if picked else "( )") if round_box else ("[x]" if picked else "[ ]")
        self.mark = f"{self.key} {box} {self.label}"
        self.set_class(picked, "-picked")
        self.refresh()

    def render(self) -> RenderResult:
        row = Table.grid()
        row.add_column(width=self.MARK_WIDTH)
        row.add_column(ratio=1)
        mark = RichText(self.mark, style=self.get_component_rich_style("choice--mark"))
        row.add_row(mark, self.themed())
        return row

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked(self.index))


class ChoiceAnswer(Vertical):
    """single, multiple and truefalse: number keys (and t / f) pick, a click picks too."""

    picked: reactive[frozenset[int]] = reactive(frozenset)

    def __init__(self, question: Question, language: str | None) -> None:
        super().__init__(id="answer")
        self.question = question
        self.multiple = question.type == "multiple"
        if question.type == "truefalse":
            self.options = [("true", _("True")), ("false", _("False"))]
        else:
            self.options = [(c.id, c.text.get(language)) for c in question.choices]

    def compose(self) -> ComposeResult:
        for index, (_id, text) in enumerate(self.options):
            label = "" if self.question.type == "truefalse" else f"{letter(index)}."
            yield ChoiceRow(index, str(index + 1), label, text)

    def on_mount(self) -> None:
        self.watch_picked(self.picked)

    def name_by_id(self) -> None:
        """Once answered, the choices go back to the order their author wrote them in, each
        with its author's letter (its id): the verdict, the explanation, the feedback and the
        lab name choices by id, and in that order they read A, B, C… again. The pick stays
        marked; the number keys no longer pick, so the rows lose them."""
        if self.question.type == "truefalse":
            return
        written = [c.id for c in self.question.original.choices]
        picked = {self.options[i][0] for i in self.picked}
        self.options.sort(key=lambda option: written.index(option[0]))
        for row in self.query(ChoiceRow):
            choice_id, text = self.options[row.index]
            row.key = " "
            row.label = f"{one_line(choice_id)}."
            if row.source != printable(text):
                row.set_source(text)
        self.picked = frozenset(i for i, (c, _text) in enumerate(self.options) if c in picked)
        self.watch_picked(self.picked)

    def watch_picked(self, picked: frozenset[int]) -> None:
        for row in self.query(ChoiceRow):
            row.show(row.index in picked, round_box=not self.multiple)

    def count(self) -> int:
        return len(self.options)

    def pick(self, index: int) -> None:
        """Pick choice `index` (0-based); in a multiple question, toggle it."""
        if not 0 <= index < len(self.options):
            return
        if not self.multiple:
            self.picked = frozenset({index})
        elif index in self.picked:
            self.picked = self.picked - {index}
        else:
            self.picked = self.picked | {index}

    def on_choice_row_clicked(self, message: ChoiceRow.Clicked) -> None:
        if not self.disabled:
            self.pick(message.index)

    def chosen_ids(self) -> list[str]:
        return [self.options[i][0] for i in sorted(self.picked)]

    def response(self) -> Response:
        ids = self.chosen_ids()
        if self.question.type == "multiple":
            return frozenset(ids)
        if not ids:
            raise Incomplete(_("Pick an answer first (press its number)."))
        if self.question.type == "truefalse":
            return ids[0] == "true"
        return ids[0]


def parse_number(text: str) -> float:
    """The learner's number; Incomplete with the reason when it is not one."""
    cleaned = text.strip().replace("−", "-")
    if not cleaned:
        raise Incomplete(_("Type a number first, like -1.17, 1e-3 or 200."))
    try:
        value = float(cleaned)
    except ValueError:
        raise Incomplete(
            _("{text!r} is not a number; write it like -1.17, 1e-3 or 200.").format(
                text=text.strip()
            )
        ) from None
    if not math.isfinite(value):
        raise Incomplete(_("Type a finite number, like -1.17, 1e-3 or 200."))
    return value


class NumberInput(Input):
    """An input that leaves letters which cannot be part of a number to the screen's keys.

    So `h`, `n`, `p`, `r` and `?` keep working while the learner types; other letters are
    still typed, and explained on submit, rather than swallowed.
    """

    NUMBER_CHARACTERS = frozenset("0123456789.-+eE")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self.NUMBER_CHARACTERS


class CellInput(NumberInput):
    """A trace blank's number box, safe to type into fast.

    The app hands every key to the widget focused when the key arrives, and Tab only moves
    the focus once it has bubbled from this box's queue up to the app: so in `1.0 Tab 1.4`
    typed in one burst, `1.4` was queued here before the focus moved. Here Tab moves the
    focus as soon as this box reads it, in the order typed, and whatever this box reads
    after losing the focus (keys, a pending submit) goes on to the widget that has it. Its
    own keys (backspace, the arrows) act here too, in order, for the same reason.
    """

    FOCUS_KEYS: ClassVar[dict[str, int]] = {"tab": 1, "shift+tab": -1}

    def _follow_focus(self, event: events.Key | events.Paste | InTurn) -> bool:
        """Hand `event` on to the widget focused now, if the focus moved away from this box."""
        if not self.is_attached:
            return False
        # The screen's own record: `has_focus` follows only once the Blur event is read.
        target = self.screen.focused
        if target is None or target is self:
            return False
        event.stop()
        event.prevent_default()
        # A fresh copy: the one in hand is stopped here, and would bubble no further.
        if isinstance(event, events.Key):
            target.post_message(events.Key(event.key, event.character))
        elif isinstance(event, events.Paste):
            target.post_message(events.Paste(event.text))
        elif isinstance(event, InTurn):
            target.post_message(InTurn(event.callback))
        return True

    async def _on_key(self, event: events.Key) -> None:
        if self._follow_focus(event):
            return
        step = self.FOCUS_KEYS.get(event.key)
        bound = self.screen.active_bindings.get(event.key)
        if step is None and (bound is None or bound.node is not self or not bound.enabled):
            return  # typed by Input, or a key for the screen or the app
        event.stop()
        event.prevent_default()
        if step is None and bound is not None:
            # The box's own keys (backspace, the arrows) act here too: left to bubble up to
            # the app, they would act after the characters typed behind them.
            await self.run_action(bound.binding.action)
        elif step == 1:
            self.screen.focus_next()
        else:
            self.screen.focus_previous()

    def on_in_turn(self, message: InTurn) -> None:
        self._follow_focus(message)

    def _on_paste(self, event: events.Paste) -> None:
        """A pasted row or column of numbers fills this blank and the ones after it."""
        if self._follow_focus(event):
            return
        values = event.text.split()
        if len(values) < 2:
            return  # Input's own paste handles one value (or none)
        event.stop()
        event.prevent_default()
        self.value = values[0]
        self.screen.focus_next()
        target = self.screen.focused
        if isinstance(target, CellInput):
            target.post_message(events.Paste(" ".join(values[1:])))


class NumericAnswer(Vertical):
    """numeric: an input; Enter (the screen's key) submits, and input that is not a number is
    explained."""

    def __init__(self) -> None:
        super().__init__(id="answer")

    def compose(self) -> ComposeResult:
        yield NumberInput(placeholder=_("a number, e.g. -1.17, 1e-3 or 200"), id="number")

    def response(self) -> Response:
        return parse_number(self.query_one(Input).value)


class OrderAnswer(Widget, can_focus=True):
    """order: the learner's lines on top, in order, and the unused lines (distractors too) below.

    Drawn as plain text rows so code never passes through markup.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", N_("Up"), show=False, id="order.up"),
        Binding("down", "cursor(1)", N_("Down"), show=False, id="order.down"),
        Binding("space", "use_or_drop", N_("Use/drop line"), id="order.toggle"),
        Binding("shift+up,u", "shift(-1)", N_("Move up"), id="order.move_up"),
        Binding("shift+down,d", "shift(1)", N_("Move down"), id="order.move_down"),
    ]

    cursor: reactive[int] = reactive(0)

    def __init__(self, question: Question) -> None:
        super().__init__(id="answer")
        pool = [*question.lines, *question.distractors]
        # Shuffled the same way every time, so a learner (and a snapshot) sees a stable puzzle.
        random.Random(question.id).shuffle(pool)
        self.unused: list[str] = pool
        self.chosen: list[str] = []

    def arrangement(self) -> list[str]:
        return list(self.chosen)

    def _rows(self) -> list[tuple[str, str]]:
        """(list name, line) for every row as drawn."""
        return [("chosen", line) for line in self.chosen] + [
            ("unused", line) for line in self.unused
        ]

    def render(self) -> RichText:
        text = RichText()
        text.append(
            _("Your step code (space: use/drop, shift+↑/↓ or u/d: move):") + "\n", style="bold"
        )
        rows = self._rows()
        if not self.chosen:
            text.append("   " + _("(no lines yet)") + "\n", style="dim")
        for index, (where, line) in enumerate(rows):
            if index == len(self.chosen):
                text.append(_("Unused lines:") + "\n", style="bold")
            pointer = "›" if index == self.cursor and self.has_focus else " "
            number = f"{index + 1:>2}." if where == "chosen" else "  -"
            style = "reverse" if index == self.cursor else ""
            text.append(f"{pointer}{number} ", style=style)
            text.append(printable(line), style=style)
            text.append("\n")
        if not self.unused:
            text.append(_("Unused lines:") + "\n", style="bold")
            text.append("   " + _("(none)") + "\n", style="dim")
        return text

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self._rows()) + 3

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        rows = len(self._rows())
        if rows:
            self.cursor = max(0, min(rows - 1, self.cursor + delta))

    def action_use_or_drop(self) -> None:
        self.toggle(self.cursor)

    def toggle(self, index: int) -> None:
        """Use an unused line (it goes last) or drop a used one (back to the unused lines)."""
        rows = self._rows()
        if not 0 <= index < len(rows):
            return
        where, _line = rows[index]
        if where == "chosen":
            self.unused.insert(0, self.chosen.pop(index))
            self.cursor = min(index, len(rows) - 1)
        else:
            self.chosen.append(self.unused.pop(index - len(self.chosen)))
            self.cursor = min(index + 1, len(rows) - 1)
        self.refresh(layout=True)

    def action_shift(self, delta: int) -> None:
        index, target = self.cursor, self.cursor + delta
        if index < len(self.chosen) and 0 <= target < len(self.chosen):
            self.chosen[index], self.chosen[target] = self.chosen[target], self.chosen[index]
            self.cursor = target
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        # Row 0 is the heading; the "Unused lines" heading sits just before the first unused row.
        y = event.y - 1
        if not self.chosen:
            y -= 1
        elif y == len(self.chosen):
            return
        if y >= len(self.chosen):
            y -= 1
        if 0 <= y < len(self._rows()):
            self.cursor = y
            self.toggle(y)

    def response(self) -> Response:
        if not self.chosen:
            raise Incomplete(_("Use at least one line (space) before running your arrangement."))
        return tuple(self.chosen)


class ErrorPicker(Widget, can_focus=True):
    """A "raises at this step" blank: left and right (or space) go through the errors the
    blank offers. Keys of its own, because Enter belongs to the screen: it submits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,space", "turn(1)", N_("Next error"), id="error.next"),
        Binding("left", "turn(-1)", N_("Previous error"), id="error.previous"),
    ]

    index: reactive[int | None] = reactive(None)

    def __init__(self, errors: tuple[str, ...], *, id: str) -> None:
        super().__init__(id=id, classes="error-picker")
        self.errors = errors

    @property
    def value(self) -> str | None:
        return None if self.index is None else self.errors[self.index]

    @value.setter
    def value(self, error: str) -> None:
        if error in self.errors:
            self.index = self.errors.index(error)

    def action_turn(self, step: int) -> None:
        start = -1 if step > 0 else 0
        self.index = ((start if self.index is None else self.index) + step) % len(self.errors)

    def render(self) -> RenderResult:
        shown = _("pick the error (← →)") if self.value is None else f"◀ {one_line(self.value)} ▶"
        return RichText(shown)


class TraceAnswer(Vertical):
    """trace: one input per blank cell of the table, labelled with its row and column; a
    "raises at this step" blank picks the error from the blank's list. Tab moves between them,
    Enter (the screen's key) submits."""

    def __init__(self, question: Question) -> None:
        super().__init__(id="answer")
        self.question = question

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal
        from textual.widgets import Label, Static

        yield Static(self.code(), classes="trace-code")
        yield Static(_("Table: waiting for the lab…"), id="trace-table")
        for index, blank in enumerate(self.question.blanks):
            with Horizontal(classes="blank"):
                yield Label(one_line(blank.label()), classes="blank-label")
                if blank.raises:
                    yield ErrorPicker(blank.errors, id=f"blank-{index}")
                else:
                    yield CellInput(placeholder=_("a number"), id=f"blank-{index}")
                yield Label("", id=f"truth-{index}", classes="blank-truth")

    def code(self) -> RichText:
        """The experiment as it runs: setup once, then the step code `steps` times."""
        experiment = self.question.experiment
        if experiment is None:
            return RichText("")
        parts = []
        if self.question.params:
            from gradquiz.format.params import drawn_values, shown

            # The code reads the drawn names; the learner needs their values this attempt.
            picked = drawn_values(self.question)
            parts.append(
                _("# drawn") + "\n" + "\n".join(f"{k} = {shown(v)}" for k, v in picked.items())
            )
        if experiment.setup is not None:
            parts.append(_("# setup") + f"\n{experiment.setup.source.rstrip()}")
        if experiment.code is not None:
            step = experiment.code.source.rstrip()
            each = _("# each of {steps} steps").format(steps=experiment.steps)
            parts.append(f"{each}\n{step}")
        return RichText(printable("\n".join(parts)))

    def show_table(self, run: VariantResult) -> None:
        """The run with its blanks as ▢ (and a `raises` blank's error hidden): the cells
        around the blanks are what the learner predicts from."""
        from textual.widgets import Static

        from gradquiz.blanks import masked
        from gradquiz.display import cell

        shown = masked(self.question, run)
        # Pack text as Text, never markup: a column named `[x]` shows as written.
        table = Table(_("row"), box=None, pad_edge=False)
        for column in shown.columns:
            table.add_column(RichText(one_line(column)))
        for index, row in enumerate(shown.rows, 1):
            values = (RichText(one_line(cell(row.values.get(c)))) for c in shown.columns)
            table.add_row(str(index), *values)
        if shown.error is not None:
            raises = any(b.raises for b in self.question.blanks)
            error = _("raises ▢") if raises else _("raises {error}").format(error=shown.error.type)
            table.add_row(str(len(shown.rows) + 1), RichText(one_line(error)))
        self.query_one("#trace-table", Static).update(table)

    def show_answer(self, response: Response, run: VariantResult | None) -> None:
        """The learner's values back in their cells and, once the run is here, PyTorch's beside
        each one."""
        from textual.widgets import Label

        from gradquiz.blanks import Cells, grade_cells

        if not isinstance(response, Cells):
            return
        for index, given in enumerate(response.values):
            cell = self.query_one(f"#blank-{index}")
            if isinstance(cell, ErrorPicker) and isinstance(given, str):
                cell.value = given
            elif isinstance(cell, Input) and isinstance(given, float):
                cell.value = f"{given:g}"
        if run is None:
            return
        for index, verdict in enumerate(grade_cells(self.question, response.values, run)):
            truth = verdict.expected
            if truth is None:
                shown = _("nothing there")
            else:
                shown = one_line(truth) if isinstance(truth, str) else number(truth)
            mark = "✓" if verdict.correct else "✗"
            label = self.query_one(f"#truth-{index}", Label)
            label.update(RichText(_("{mark} PyTorch: {value}").format(mark=mark, value=shown)))
            label.set_class(verdict.correct, "-right")
            label.set_class(not verdict.correct, "-wrong")

    def response(self) -> Response:
        from gradquiz.blanks import Cells, Given

        given: list[Given] = []
        for index, blank in enumerate(self.question.blanks):
            cell = self.query_one(f"#blank-{index}")
            if isinstance(cell, ErrorPicker):
                if cell.value is None:
                    raise Incomplete(
                        _("{blank}: pick the error the run raises.").format(blank=blank.label())
                    )
                given.append(cell.value)
            else:
                assert isinstance(cell, Input)
                try:
                    given.append(parse_number(cell.value))
                except Incomplete as exc:
                    raise Incomplete(
                        _("{blank}: {problem}").format(blank=blank.label(), problem=exc)
                    ) from None
        return Cells(tuple(given))
