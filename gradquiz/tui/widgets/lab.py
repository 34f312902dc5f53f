"""The lab: one gradient table per variant, side by side when they fit, and a plot of a column.

Everything here draws results it is handed; running experiments is the app's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text as RichText
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import (
    DataTable,
    Label,
    LoadingIndicator,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual_plotext import PlotextPlot

from gradquiz import display
from gradquiz.display import one_line, printable
from gradquiz.format.model import REFERENCE, YOURS, Question
from gradquiz.grading import tolerance_of, values_equal, variant_correct
from gradquiz.lab.protocol import VariantResult
from gradquiz.tui.screens.dialogs import FullValueDialog

Results = Mapping[str, VariantResult]

# Columns a table needs to be readable; more variants than fit side by side go into tabs.
TABLE_WIDTH = 56


def reference_variant(question: Question, results: Results) -> str | None:
    """The variant whose trace the others are compared with: the reference or a right choice."""
    if question.type == "order":
        return REFERENCE if REFERENCE in results else None
    return next(
        (v for v in results if variant_correct(question, v, results) is True and len(results) > 1),
        None,
    )


def number_of(value: Any) -> float | None:
    """A value as one plottable number: a number, or a tensor holding exactly one."""
    flat = display.flatten(value)
    if len(flat) != 1:
        return None
    item = flat[0]
    if isinstance(item, bool) or not isinstance(item, int | float):
        return None
    return float(item)


def plottable_columns(results: Results) -> list[str]:
    columns: list[str] = []
    for result in results.values():
        for column in result.columns:
            if column not in columns and any(
                number_of(row.values.get(column)) is not None for row in result.rows
            ):
                columns.append(column)
    return columns


class VariantTable(Vertical):
    """One variant's trace: rows are steps (or record() calls), columns the watch labels."""

    def __init__(
        self, question: Question, result: VariantResult, reference: VariantResult | None
    ) -> None:
        super().__init__(classes="variant")
        self.question = question
        self.result = result
        self.reference = reference
        # The full values behind the rounded cells, by (row, column) position.
        self.values: dict[tuple[int, int], Any] = {}

    def compose(self) -> ComposeResult:
        yield Label(RichText(one_line(self.heading())), classes="variant-title")
        yield DataTable(cursor_type="cell", zebra_stripes=True)
        if self.result.error is not None:
            yield Static(RichText(printable(f"✗ {self.result.error}")), classes="run-error")
        if self.result.output.strip():
            yield Static(RichText(printable(self.result.output.rstrip())), classes="run-output")

    def heading(self) -> str:
        variant = self.result.variant
        if self.reference is not None and variant == self.reference.variant:
            return f"{variant} (the right one; others are compared with it)"
        if self.question.type == "order" and variant == YOURS:
            return "yours (cells that differ from the reference are marked)"
        return variant

    def on_mount(self) -> None:
        try:
            table = self.query_one(DataTable)
        except NoMatches:
            return  # taken down while being mounted: the learner moved on
        error_style = Style.parse(f"bold {self.app.theme_variables['error']}")
        table.add_column("step", key="step")
        for column in self.result.columns:
            table.add_column(RichText(one_line(column)), key=column)
        if self.result.error is not None and not self.result.columns:
            # A run that failed before its first row still needs a cell for its error.
            table.add_column("error", key="error")
        reference_rows = self.reference.rows if self.reference is not None else []
        for row_index, row in enumerate(self.result.rows):
            cells: list[RichText] = [RichText(str(row.step))]
            for column_index, column in enumerate(self.result.columns, start=1):
                value = row.values.get(column)
                self.values[row_index, column_index] = value
                text = RichText(one_line(display.cell(value)))
                if self.differs(row_index, column, value, reference_rows):
                    text.stylize(error_style)
                    text.append(" ≠")
                cells.append(text)
            table.add_row(*cells)
        error = self.result.error
        if error is not None:
            row_index = len(self.result.rows)
            where = f"✗ {error.step}" if error.step is not None else "✗"
            message = f"{error.type}: {error.message}" if error.message else error.type
            self.values[row_index, 1] = message
            blanks = [RichText("") for _ in range(len(table.columns) - 2)]
            table.add_row(
                RichText(where, style=error_style),
                RichText(_shorten(one_line(message)), style=error_style),
                *blanks,
            )

    def differs(self, row_index: int, column: str, value: Any, reference_rows: list[Any]) -> bool:
        if self.reference is None or self.result.variant == self.reference.variant:
            return False
        if row_index >= len(reference_rows) or column not in reference_rows[row_index].values:
            return True
        other = reference_rows[row_index].values[column]
        return not values_equal(value, other, tolerance_of(self.question))

    @on(DataTable.CellSelected)
    def show_full_value(self, event: DataTable.CellSelected) -> None:
        event.stop()
        row, column = event.coordinate.row, event.coordinate.column
        if (row, column) not in self.values:
            return
        label = self.result.columns[column - 1] if column - 1 < len(self.result.columns) else ""
        step = self.result.rows[row].step if row < len(self.result.rows) else "error"
        title = f"{self.result.variant} · step {step} · {label}"
        self.app.push_screen(FullValueDialog(title, self.values[row, column]))


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class VariantTables(Vertical):
    """The tables, side by side when every one gets TABLE_WIDTH columns, tabs otherwise."""

    side_by_side: reactive[bool] = reactive(True, recompose=True)

    def __init__(self, question: Question, results: Results) -> None:
        super().__init__(id="tables")
        self.question = question
        self.results = results

    def fits(self, width: int) -> bool:
        return len(self.results) * TABLE_WIDTH <= max(width, TABLE_WIDTH)

    def compose(self) -> ComposeResult:
        reference_id = reference_variant(self.question, self.results)
        reference = self.results.get(reference_id) if reference_id else None
        tables = [VariantTable(self.question, r, reference) for r in self.results.values()]
        if self.side_by_side:
            with Horizontal(id="side-by-side"):
                yield from tables
        else:
            with TabbedContent(id="variant-tabs"):
                for table in tables:
                    with TabPane(escape(one_line(table.result.variant))):
                        yield table

    def on_resize(self, event: events.Resize) -> None:
        fits = self.fits(event.size.width)
        if fits != self.side_by_side:
            self.side_by_side = fits


class TracePlot(Vertical):
    """One numeric column across the steps, one line per variant; the learner picks the column."""

    def __init__(self, results: Results) -> None:
        super().__init__(id="plot-box")
        self.results = results
        self.columns = plottable_columns(results)

    def compose(self) -> ComposeResult:
        options = [(RichText(one_line(c)), c) for c in self.columns]
        yield Select(options, value=self.columns[0], allow_blank=False, id="plot-column")
        yield PlotextPlot(id="plot")

    def on_mount(self) -> None:
        try:
            self.draw(self.columns[0])
        except NoMatches:
            return  # taken down while being mounted: the learner moved on

    @on(Select.Changed, "#plot-column")
    def column_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.draw(event.value)

    def draw(self, column: str) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        every: list[float] = []
        for result in self.results.values():
            points = [
                (index, number)
                for index, row in enumerate(result.rows, start=1)
                if (number := number_of(row.values.get(column))) is not None
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                every.extend(ys)
                plt.plot(list(xs), list(ys), label=one_line(result.variant), marker="braille")
        low, high = y_range(every)
        plt.ylim(low, high)
        plt.title(one_line(column))
        plt.xlabel("row of the table")
        plot.refresh()


def y_range(values: list[float]) -> tuple[float, float]:
    """The y-axis for these values. A flat line (or one point) gets room around it: left to
    plotext, a zero-height range draws the axis upside down."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return -1.0, 1.0
    low, high = min(finite), max(finite)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def _same_runs(a: Results, b: Results) -> bool:
    return a.keys() == b.keys() and all(a[variant] is b[variant] for variant in a)


class LabPanel(Vertical):
    """What the learner sees after answering: verdict, feedback, explanation, tables, plot."""

    @dataclass
    class TablesDrawn(Message):
        """The tables of `question` are on screen (benchmarks time Enter-to-tables with it)."""

        question: str

    def __init__(self, question: Question) -> None:
        super().__init__(id="lab")
        self.question = question
        self.has_explanation = False
        self.has_feedback = False
        self.shown: Results | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="verdict")
        yield Vertical(id="lab-body")

    def show_verdict(self, text: str, correct: bool | None) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.update(RichText(printable(text)))
        verdict.set_class(correct is True, "-right")
        verdict.set_class(correct is False, "-wrong")

    async def show_results(self, results: Results) -> None:
        if self.shown is not None and _same_runs(results, self.shown):
            # Drawn while the learner was reading: nothing left to do but say so.
            self.call_after_refresh(self.post_message, self.TablesDrawn(self.question.id))
            return
        self.shown = dict(results)
        body = self.query_one("#lab-body", Vertical)
        await body.remove_children()
        tables = VariantTables(self.question, results)
        # A panel drawn out of sight has no width yet; its parent's is the one it will get.
        width = self.size.width or (
            self.parent.size.width if isinstance(self.parent, Widget) else 0
        )
        tables.set_reactive(VariantTables.side_by_side, tables.fits(width))
        widgets: list[Any] = [tables]
        if plottable_columns(results):
            widgets.append(TracePlot(results))
        await body.mount_all(widgets)
        self.call_after_refresh(self.post_message, self.TablesDrawn(self.question.id))

    async def show_note(self, text: str, loading: bool = False) -> None:
        """A line in place of the tables: why there are none, or that they are on their way."""
        self.shown = None
        body = self.query_one("#lab-body", Vertical)
        await body.remove_children()
        widgets: list[Any] = [Static(RichText(printable(text)), classes="lab-note")]
        if loading:
            widgets.append(LoadingIndicator())
        await body.mount_all(widgets)
