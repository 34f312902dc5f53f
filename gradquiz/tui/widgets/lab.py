"""The lab: each variant with what it is, the code it ran and its table; one column compared
across the variants; a plot of it; and why a variant differs from the right one.

Everything here draws results it is handed; running experiments is the app's business. What
is shown is computed by the pure `gradquiz.variants` and `gradquiz.difference`; pack text (ids,
choice texts, code, labels, values) goes through `display.one_line`/`printable` into Rich
`Text` or `Syntax`, never into markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from rich.cells import cell_len
from rich.console import Group
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text as RichText
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.css.query import NoMatches
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import (
    DataTable,
    LoadingIndicator,
    Static,
    TabbedContent,
    TabPane,
)
from textual_plotext import PlotextPlot

from gradquiz import display
from gradquiz.difference import reference_variant, variant_name
from gradquiz.display import one_line, printable
from gradquiz.format.model import Code, Question
from gradquiz.grading import Response, variant_correct
from gradquiz.graphs import graph_view
from gradquiz.i18n import _
from gradquiz.lab.protocol import VariantResult
from gradquiz.tui.screens.dialogs import FullValueDialog
from gradquiz.tui.widgets.graph import GraphPanel
from gradquiz.tui.widgets.prose import CODE_THEMES, Prose
from gradquiz.variants import Comparison as ColumnComparison
from gradquiz.variants import (
    Heading,
    SlotKind,
    VariantCode,
    VariantView,
    arrangement_rows,
    comparable_columns,
    compare_column,
    folded,
    headings,
    opening_variant,
    picked_variants,
    table_width,
    variant_codes,
    variant_views,
)

Results = Mapping[str, VariantResult]

# A card's code column: narrower than this, the code wraps above the table instead.
CODE_MIN = 28
# Columns between cards and between a card's code and its table (CSS padding and gutters).
GAP = 2
# Markers for the plot's lines, one per variant, so coinciding lines stay told apart.
MARKERS = ("o", "x", "+", "*", "#", "@", "%", "&")
# The theme colour of a heading: right, wrong, or neither (not graded by the key).
RIGHT_COLOURS = {True: "success", False: "error", None: "accent"}
COLOURS = ("blue", "red", "green", "orange", "magenta", "cyan", "yellow", "white")


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
    """Numeric columns of runs with more than one row: one point is no line."""
    columns: list[str] = []
    for result in results.values():
        if len(result.rows) < 2:
            continue
        for column in result.columns:
            if column not in columns and any(
                number_of(row.values.get(column)) is not None for row in result.rows
            ):
                columns.append(column)
    return columns


def code_text(code: VariantCode | None, step: bool = True) -> str:
    """What a card shows of the code a variant ran: its setup, step code and watch; without
    `step`, a line where the step code would be (an `order` question's is its answer)."""
    if code is None:
        return ""
    parts = []
    if code.setup is not None:
        parts.append(_("# its setup") + "\n" + code.setup.source.rstrip())
    label = _("# each step") if code.steps > 1 else _("# the code")
    label += f" (x{code.steps})" if code.steps > 1 else ""
    if step:
        parts.append(f"{label}\n{code.step.source}")
    else:
        parts.append(f"{label}: " + _("the lines you put in order"))
    if code.watch is not None:
        lines = "\n".join(f"{one_line(label)!r}: {w.source.strip()}" for label, w in code.watch)
        parts.append(_("# watch") + "\n" + lines)
    return "\n".join(p.rstrip() for p in parts)


def code_width(source: str) -> int:
    lines = source.splitlines()
    # Line numbers and the space after them.
    gutter = len(str(len(lines))) + 1
    return max((cell_len(printable(line)) for line in lines), default=0) + gutter


@lru_cache(maxsize=256)
def syntax(source: str, dark: bool) -> RichText:
    """Python source highlighted, with line numbers. Highlighted once: a Syntax object would
    lex its code again on every render of its widget."""
    # printable: escapes a pack's control characters; highlighting never reads markup.
    code = Syntax(printable(source), "python", theme=CODE_THEMES[dark], background_color="default")
    lines = code.highlight(code.code).split("\n")
    if lines and not lines[-1].plain:
        lines.pop()
    width = len(str(len(lines)))
    numbered = RichText()
    for number, line in enumerate(lines, start=1):
        numbered.append(f"{number:>{width}} ", style="dim")
        numbered.append_text(line)
        numbered.append("\n")
    numbered.rstrip()
    return numbered


class VariantTable(Vertical):
    """One variant: its heading, feedback, why it differs, the code it ran and its trace."""

    def __init__(
        self,
        question: Question,
        view: VariantView | None,
        heading: Heading,
        code: str,
        *,
        beside: bool,
    ) -> None:
        marks = {True: "-right", False: "-wrong", None: ""}
        picked = "-picked" if heading.picked else ""
        # Classes given here, not set on mount: each set then restyles the whole card.
        super().__init__(classes=f"variant {marks[heading.correct]} {picked}")
        self.question = question
        self.view = view
        self.heading = heading
        self.code = code
        self.beside = beside
        # The full values behind the rounded cells, by (row, column) position.
        self.values: dict[tuple[int, int], Any] = {}

    @property
    def variant(self) -> str:
        return self.heading.variant

    @property
    def result(self) -> VariantResult | None:
        return self.view.result if self.view is not None else None

    def compose(self) -> ComposeResult:
        # Few widgets a card: each costs styling and layout, six cards at a time.
        yield VariantAbout(self)
        view = self.view
        with (Horizontal if self.beside else Vertical)(classes="code-and-table"):
            if self.code:
                yield Static(syntax(self.code, self.app.current_theme.dark), classes="variant-code")
            if view is not None:
                yield DataTable(cursor_type="cell", zebra_stripes=True)
        if view is not None and (view.result.error is not None or view.result.output.strip()):
            yield VariantNotes(view)

    def heading_text(self) -> RichText:
        text = RichText(self.heading.line())
        if self.heading.reference:
            # The variant every ≠ is measured against.
            text.append(_(" · baseline"), style="dim")
        return text

    def set_heading(self, heading: Heading) -> None:
        self.heading = heading
        self.query_one(VariantAbout).refresh(layout=True)
        self.set_class(heading.picked, "-picked")

    def on_mount(self) -> None:
        # No table when the card is taken down as it mounts (the learner moved on).
        for table in self.query(DataTable):
            if self.view is not None:
                self.fill(table, self.view)

    def fill(self, table: DataTable[Any], view: VariantView) -> None:
        result = view.result
        error_style = Style.parse(f"bold {self.app.theme_variables['error']}")
        table.add_column(_("step"), key="step")
        for column in result.columns:
            table.add_column(RichText(one_line(column)), key=column)
        if result.error is not None and not result.columns:
            # A run that failed before its first row still needs a cell for its error.
            table.add_column(_("error"), key="error")
        for row_index, row in enumerate(result.rows):
            cells: list[RichText] = [RichText(str(row.step))]
            for column_index, column in enumerate(result.columns, start=1):
                value = row.values.get(column)
                self.values[row_index, column_index] = value
                text = RichText(one_line(display.cell(value)))
                if (row_index, column) in view.differing:
                    text.stylize(error_style)
                    text.append(" ≠")
                cells.append(text)
            table.add_row(*cells)
        error = result.error
        if error is not None:
            row_index = len(result.rows)
            where = f"✗ {error.step}" if error.step is not None else "✗"
            message = f"{error.type}: {error.message}" if error.message else error.type
            self.values[row_index, 1] = message
            blanks = [RichText("") for _column in range(len(table.columns) - 2)]
            table.add_row(
                RichText(where, style=error_style),
                RichText(_shorten(one_line(message)), style=error_style),
                *blanks,
            )

    @dataclass
    class RowHighlighted(Message):
        """The cursor of a card's table moved to another row: the graph follows it."""

        variant: str

    @on(DataTable.CellHighlighted)
    def row_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self.post_message(self.RowHighlighted(self.variant))

    def cursor_row(self) -> int | None:
        """The row of the trace under the table's cursor (one past the last: the error's line);
        None with no table (yet)."""
        found = self.query(DataTable)
        result = self.result
        if not found or result is None:
            return None
        row = found.first().cursor_row
        return row if 0 <= row <= len(result.rows) else None

    @on(DataTable.CellSelected)
    def show_full_value(self, event: DataTable.CellSelected) -> None:
        event.stop()
        result = self.result
        row, column = event.coordinate.row, event.coordinate.column
        if result is None or (row, column) not in self.values:
            return
        label = result.columns[column - 1] if column - 1 < len(result.columns) else ""
        step = result.rows[row].step if row < len(result.rows) else _("error")
        title = _("{variant} · step {step} · {column}").format(
            variant=result.variant, step=step, column=label
        )
        self.app.push_screen(FullValueDialog(title, self.values[row, column]))


class VariantAbout(Static):
    """A card's words: its heading, its choice's feedback, and how it differs from the right
    variant (one sentence each)."""

    def __init__(self, card: VariantTable) -> None:
        super().__init__(classes="variant-about")
        self.card = card

    def render(self) -> Any:
        card, colours = self.card, self.app.theme_variables
        heading = card.heading
        colour = RIGHT_COLOURS[heading.correct]
        title = card.heading_text()
        title.stylize(f"bold {colours[colour]}", 0, len(heading.line()))
        parts: list[Any] = [title]
        if heading.feedback:
            parts.append(Prose.render_source(self.app, heading.feedback))
        if card.view is not None:
            for difference in card.view.differences:
                parts.append(RichText(""))
                parts.append(RichText(one_line(difference.sentence), style=colours["warning"]))
        return Group(*parts)


class VariantNotes(Static):
    """Under a card's table: its error with a plain reading of it, and what it printed."""

    def __init__(self, view: VariantView) -> None:
        super().__init__(classes="variant-notes")
        self.view = view

    def render(self) -> Any:
        result, colours = self.view.result, self.app.theme_variables
        parts: list[Any] = []
        if result.error is not None:
            parts.append(RichText(printable(f"✗ {result.error}"), style=colours["error"]))
            if self.view.gloss:
                gloss = RichText(_("What it means: "), style="bold")
                gloss.append(printable(self.view.gloss))
                parts.append(gloss)
        if result.output.strip():
            parts.append(RichText(printable(result.output.rstrip()), style="dim"))
        return Group(*parts)


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Card:
    """What a variant's card is made of, measured before anything is drawn."""

    heading: Heading
    view: VariantView | None
    code: str
    # Columns its table takes (none for a variant that did not run).
    table: int = 0

    @cached_property
    def code_columns(self) -> int:
        # Measured once: every layout that might fit asks for it, card by card.
        return code_width(self.code) if self.code else 0

    def beside(self) -> int:
        """Columns the card needs with its code beside its table."""
        return self.code_columns + self.table + GAP

    def above(self) -> int:
        """Columns the card needs with its code wrapped above its table."""
        return max(self.table, min(self.code_columns, CODE_MIN)) + GAP


class Layout:
    SIDE_BY_SIDE_BESIDE = "side by side, code beside"
    SIDE_BY_SIDE = "side by side, code above"
    TABS_BESIDE = "tabs, code beside"
    TABS = "tabs, code above"


def layout_for(cards: Sequence[Card], width: int) -> str:
    """How the cards fit `width`: all side by side when their measured widths fit, else one
    tab each; the code beside each table where there is room, else above it."""
    if sum(c.beside() for c in cards) <= width:
        return Layout.SIDE_BY_SIDE_BESIDE
    if sum(c.above() for c in cards) <= width:
        return Layout.SIDE_BY_SIDE
    if all(c.beside() <= width for c in cards):
        return Layout.TABS_BESIDE
    return Layout.TABS


class VariantTables(Vertical):
    """The cards, side by side when their measured widths fit, in tabs otherwise; one is the
    current one (`[` and `]`), at first the learner's pick."""

    fit: reactive[str] = reactive(Layout.SIDE_BY_SIDE_BESIDE, recompose=True)

    def __init__(self, question: Question, cards: list[Card], current: str | None) -> None:
        super().__init__(id="tables")
        self.question = question
        self.cards = cards
        self.current = current or (cards[0].heading.variant if cards else None)

    @property
    def side_by_side(self) -> bool:
        return self.fit in (Layout.SIDE_BY_SIDE_BESIDE, Layout.SIDE_BY_SIDE)

    def card_widget(self, card: Card) -> VariantTable:
        beside = self.fit in (Layout.SIDE_BY_SIDE_BESIDE, Layout.TABS_BESIDE)
        return VariantTable(self.question, card.view, card.heading, card.code, beside=beside)

    def compose(self) -> ComposeResult:
        if self.side_by_side:
            with Horizontal(id="side-by-side"):
                yield from (self.card_widget(card) for card in self.cards)
            return
        with TabbedContent(id="variant-tabs", initial=self.tab_id(self.current)):
            for card in self.cards:
                heading = card.heading
                title = f"{one_line(variant_name(heading.variant))} {heading.mark}".strip()
                with TabPane(escape(title), id=self.tab_id(heading.variant)):
                    # A tab's card is built when the tab is first shown: six cards cost
                    # six times the styling and layout of the one on display.
                    if heading.variant == self.current:
                        yield self.card_widget(card)

    def tab_id(self, variant: str | None) -> str:
        index = next((i for i, c in enumerate(self.cards) if c.heading.variant == variant), 0)
        return f"variant-{index}"

    def on_mount(self) -> None:
        self.mark_current()

    def watch_fit(self) -> None:
        # Recomposed: the new cards are mounted after this frame.
        self.call_after_refresh(self.mark_current)

    def mark_current(self) -> None:
        for table in self.query(VariantTable):
            table.set_class(table.variant == self.current and self.side_by_side, "-current")

    @dataclass
    class Shown(Message):
        """Another variant is the one on display."""

        variant: str

    def show(self, variant: str) -> None:
        self.current = variant
        self.post_message(self.Shown(variant))
        if self.side_by_side:
            self.mark_current()
            for table in self.query(VariantTable):
                if table.variant == variant:
                    table.scroll_visible(animate=False)
        else:
            self.query_one(TabbedContent).active = self.tab_id(variant)

    def step(self, delta: int) -> str | None:
        """Show the variant `delta` places on from the current one (wrapping); its id."""
        if not self.cards:
            return None
        variants = [c.heading.variant for c in self.cards]
        index = variants.index(self.current) if self.current in variants else 0
        self.show(variants[(index + delta) % len(variants)])
        return self.current

    @on(TabbedContent.TabActivated)
    def tab_chosen(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        pane = event.pane
        if pane.id is not None and pane.id.startswith("variant-"):
            card = self.cards[int(pane.id.removeprefix("variant-"))]
            self.current = card.heading.variant
            self.post_message(self.Shown(self.current))
            if not pane.children:
                pane.mount(self.card_widget(card))

    def set_headings(self, found: Mapping[str, Heading], current: str | None) -> None:
        self.cards = [
            Card(found.get(c.heading.variant, c.heading), c.view, c.code, c.table)
            for c in self.cards
        ]
        for table in self.query(VariantTable):
            if table.variant in found:
                table.set_heading(found[table.variant])
        if current is not None:
            self.show(current)

    def on_resize(self, event: events.Resize) -> None:
        layout = layout_for(self.cards, event.size.width)
        if layout != self.fit:
            self.fit = layout


class SharedSetup(Static):
    """The experiment's shared setup, folded to one line; `z` or a click unfolds it."""

    unfolded: reactive[bool] = reactive(False, layout=True)

    def __init__(self, code: Code) -> None:
        super().__init__(id="shared-setup")
        self.code = code

    def render(self) -> Any:
        if not self.unfolded:
            text = RichText(_("▸ setup: "), style="bold")
            text.append(folded(self.code, 50))
            text.append(_("  z unfolds"), style="dim")
            return text
        title = RichText(_("▾ setup, run before every variant"), style="bold")
        title.append(_("  z folds"), style="dim")
        code = syntax(self.code.source.rstrip(), self.app.current_theme.dark)
        return Group(title, code)

    def on_click(self) -> None:
        self.unfolded = not self.unfolded


def arrangement_table(question: Question, yours: Sequence[str]) -> Table | None:
    """The right order of lines next to the learner's, or None when they are the same."""
    rows = arrangement_rows(question, yours)
    if all(row.same for row in rows):
        return None
    table = Table("#", _("the right order"), _("yours"), box=None, pad_edge=False)
    for index, row in enumerate(rows, start=1):
        mine = RichText(one_line(row.yours or "—"))
        if not row.same:
            mine.stylize("bold")
            mine.append(_(" (not one of its lines)") if row.distractor else "  ≠")
        table.add_row(str(index), RichText(one_line(row.right or "—")), mine)
    return table


# Columns between the comparison's columns.
COLUMN_GAP = 2


def columns_text(rows: Sequence[Sequence[RichText]]) -> tuple[RichText, int]:
    """Cells in columns as wide as their widest cell, COLUMN_GAP apart, one line a row; and
    the width of the lines."""
    widths = [max(cell.cell_len for cell in column) for column in zip(*rows, strict=True)]
    lines = []
    for row in rows:
        line = RichText()
        for index, (cell, width) in enumerate(zip(row, widths, strict=True)):
            if index:
                line.append(" " * COLUMN_GAP)
            line.append_text(cell)
            line.append(" " * (width - cell.cell_len))
        lines.append(line)
    return RichText("\n").join(lines), sum(widths) + COLUMN_GAP * (len(widths) - 1)


def comparison_text(
    comparison: ColumnComparison, titles: Sequence[str], error: Style
) -> tuple[RichText, int]:
    """A column compared across variants (headed by `titles`), a cell unlike the first
    variant's in `error` and marked; and the width of its lines."""
    rows = [[RichText(name, style="bold") for name in [_("step"), *titles]]]
    for row in comparison.rows:
        cells = [RichText(str(row.step))]
        for slot in row.slots:
            text = RichText(one_line(slot.text) if slot.kind is not SlotKind.MISSING else "·")
            if slot.differs:
                text.stylize(error)
                text.append(" ≠")
            cells.append(text)
        rows.append(cells)
    return columns_text(rows)


class Comparison(Vertical):
    """One watch column across every variant, right one first, and its plot."""

    def __init__(self, question: Question, results: Results) -> None:
        super().__init__(id="comparison")
        self.question = question
        self.results = results
        self.columns = comparable_columns(results) or plottable_columns(results)
        self.plottable = plottable_columns(results)
        # The column on display, table and plot alike.
        self.column = self.columns[0]

    def compose(self) -> ComposeResult:
        if len(self.results) > 1:
            # Drawn here, its width known before the first layout: set after mounting, the
            # table would be measured and laid out once more.
            table, width = self.table(self.column)
            static = Static(table, id="compare-table")
            static.styles.width = width
            # Values are never wrapped or cut: wider than the screen, the table scrolls.
            with HorizontalScroll(id="compare-scroll"):
                yield static
        if self.plottable:
            yield PlotextPlot(id="plot")

    def on_mount(self) -> None:
        try:
            self.draw_plot()
        except NoMatches:
            return  # taken down while being mounted: the learner moved on

    def next_column(self) -> str:
        """Compare the next watch column (wrapping); its label."""
        index = self.columns.index(self.column)
        self.column = self.columns[(index + 1) % len(self.columns)]
        for static in self.query("#compare-table").results(Static):
            table, width = self.table(self.column)
            static.update(table)
            static.styles.width = width
        self.draw_plot()
        return self.column

    def on_click(self) -> None:
        self.next_column()

    def hint(self) -> str:
        count = len(self.columns)
        return _("  c or click: next column ({index}/{count})").format(
            index=self.columns.index(self.column) + 1, count=count
        )

    def draw_plot(self) -> None:
        column = self.column
        plots = self.query(PlotextPlot)
        if plots:
            plots.first().display = column in self.plottable
            if column in self.plottable:
                self.plot(plots.first(), column)

    def table(self, column: str) -> tuple[RichText, int]:
        """The comparison of `column` as lines of text, and the columns it needs to show whole.

        Text, not a Rich `Table`: Textual measures a widget's height at every layout, and
        a table is laid out afresh each time; text only counts its lines."""
        comparison = compare_column(self.question, self.results, column)
        found = headings(self.question, self.results)
        title = RichText(one_line(column), style="bold")
        title.append(_(" in every variant, the right one first"), style="not bold")
        if len(self.columns) > 1:
            title.append(self.hint(), style="dim")
        titles = [
            f"{one_line(variant_name(v))} {found[v].mark}".strip() for v in comparison.variants
        ]
        error = Style.parse(f"bold {self.app.theme_variables['error']}")
        table, width = comparison_text(comparison, titles, error)
        return RichText("\n").join([title, table]), max(title.cell_len, width)

    def plot(self, plot: PlotextPlot, column: str) -> None:
        plt = plot.plt
        # Data only: the title, ticks and limits are set anew below (a new figure costs
        # as much as the rest of the plot).
        plt.clear_data()
        series = []
        for index, result in enumerate(self.results.values()):
            points = [
                (row.step, number)
                for row in result.rows
                if (number := number_of(row.values.get(column))) is not None
            ]
            if points:
                series.append((index, result.variant, points))
        steps = sorted({step for *_ignored, points in series for step, _y in points})
        # The y-axis labels and the frame take about ten columns.
        width = (plot.size.width or self.size.width or self.app.size.width) - 10
        shifts = marker_shifts(len(series), steps[0], steps[-1], width) if steps else []
        # Every line first, then every marker over them: a line drawn after a marker would
        # hide it where the lines coincide.
        for index, _variant, points in series:
            xs, ys = zip(*points, strict=True)
            plt.plot(list(xs), list(ys), marker="braille", color=COLOURS[index % len(COLOURS)])
        for (index, _variant, points), shift in zip(series, shifts, strict=True):
            xs, ys = zip(*points, strict=True)
            plt.scatter(
                [x + shift for x in xs],
                list(ys),
                marker=MARKERS[index % len(MARKERS)],
                color=COLOURS[index % len(COLOURS)],
            )
        low, high = y_range([y for *_ignored, points in series for _x, y in points])
        plt.ylim(low, high)
        if steps:
            reach = max((abs(shift) for shift in shifts), default=0.0)
            plt.xlim(steps[0] - reach - 0.1, steps[-1] + reach + 0.1)
            plt.xticks([float(step) for step in steps])
        single = len(self.results) == 1 and len(self.columns) > 1
        # Which marker is which variant, in the title: plotext's legend box sits over the
        # top left corner of the plot, where the first steps' points often are.
        legend = "   ".join(
            f"{MARKERS[index % len(MARKERS)]} {one_line(variant_name(variant))}"
            for index, variant, _points in series
        )
        title = one_line(column) + (self.hint() if single else "")
        plt.title(f"{title}   {legend}" if len(series) > 1 else title)
        plt.xlabel(_("step"))
        plot.refresh()


def marker_shifts(count: int, first: int, last: int, columns: int) -> list[float]:
    """How far (in steps) each of `count` variants' markers sit from their step, so points
    that coincide are drawn side by side: a whole terminal column apart (half columns round
    onto each other) where a step is wide enough for them all, closer where it is not."""
    if count < 2:
        return [0.0] * count
    half = count // 2
    # Columns a step takes once the outermost markers have room beyond the first and last.
    per_step = (columns - 2 * (half + 1)) / max(last - first, 1)
    gap = 1 / per_step if per_step >= count else 0.9 / count
    return [(index - half) * gap for index in range(count)]


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


def cards_for(
    question: Question,
    results: Results,
    response: Response | None,
    language: str | None,
    yours: Sequence[str] | None,
) -> list[Card]:
    """A card per variant that ran, or, with no runs (a pack not trusted), per variant that
    would run: its code is shown all the same."""
    if results:
        views = variant_views(question, results, response, language, yours)
        return [
            Card(v.heading, v, code_text(v.code), table_width(v.widths) + GAP)
            for v in views.values()
        ]
    codes = variant_codes(question)
    found = code_headings(question, list(codes), response, language)
    return [Card(found[v], None, code_text(code)) for v, code in codes.items()]


def cards_to_read(question: Question, language: str | None) -> list[Card]:
    """A card per variant with the code it would run, to read before answering: no mark
    says which is right, no feedback, and an `order` question's step code (the answer) is
    left out."""
    cards = []
    for variant, code in variant_codes(question).items():
        choice = question.choice(variant)
        text = choice.text.get(language) if choice else None
        heading = Heading(variant, text, None, correct=None, picked=False, reference=False)
        cards.append(Card(heading, None, code_text(code, step=question.type != "order")))
    return cards


def code_headings(
    question: Question, variants: Sequence[str], response: Response | None, language: str | None
) -> dict[str, Heading]:
    """Headings of variants that did not run: right or wrong as the key says, if it does."""
    picked = picked_variants(question, response)
    found = {}
    for variant in variants:
        choice = question.choice(variant)
        found[variant] = Heading(
            variant=variant,
            text=choice.text.get(language) if choice else None,
            feedback=choice.feedback.get(language) if choice and choice.feedback else None,
            correct=variant_correct(question, variant, {}),
            picked=variant in picked,
            reference=False,
        )
    return found


class LabPanel(Vertical):
    """What the learner sees after answering: verdict, the shared setup, a card per variant,
    the comparison and its plot."""

    @dataclass
    class TablesDrawn(Message):
        """The tables of `question` are on screen (benchmarks time Enter-to-tables with it)."""

        question: str

    def __init__(self, question: Question, language: str | None = None) -> None:
        super().__init__(id="lab")
        self.question = question
        self.language = language
        self.has_explanation = False
        self.has_feedback = False
        self.shown: Results | None = None
        self.response: Response | None = None
        self.yours: tuple[str, ...] | None = None
        # `v`: the autograd graph of the variant on display, under the cards.
        self.graph_on = False

    def compose(self) -> ComposeResult:
        # Out of sight until there is a verdict: the code read before answering has none.
        verdict = Static(id="verdict")
        verdict.display = False
        yield verdict
        yield Vertical(id="lab-body")

    def show_verdict(self, text: str, correct: bool | None) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.display = bool(text)
        verdict.update(RichText(printable(text)))
        verdict.set_class(correct is True, "-right")
        verdict.set_class(correct is False, "-wrong")

    def tables(self) -> VariantTables | None:
        found = self.query(VariantTables)
        return found.first() if found else None

    async def set_answer(self, response: Response, yours: Sequence[str] | None) -> None:
        """The learner's answer is known: headings say which was picked, the lab opens on it,
        and an order answer is shown next to the right one."""
        self.response = response
        self.yours = tuple(yours) if yours is not None else None
        tables = self.tables()
        results = self.shown or {}
        if tables is not None:
            variants = [c.heading.variant for c in tables.cards]
            found = (
                headings(self.question, results, response, self.language)
                if results
                else code_headings(self.question, variants, response, self.language)
            )
            tables.set_headings(found, self.opening(results, found))
        await self.show_arrangement()

    def opening(self, results: Results, found: Mapping[str, Heading]) -> str | None:
        if results:
            return opening_variant(self.question, results, self.response)
        return next((v for v, h in found.items() if h.picked), None)

    async def show_arrangement(self) -> None:
        if self.question.type != "order" or self.yours is None:
            return
        table = arrangement_table(self.question, self.yours)
        await self.query("#arrangement").remove()
        if table is not None:
            body = self.query_one("#lab-body", Vertical)
            await body.mount(Static(table, id="arrangement"), before=0)

    async def show_results(self, results: Results) -> None:
        if self.shown is not None and _same_runs(results, self.shown):
            # Drawn while the learner was reading: nothing left to do but say so.
            self.call_after_refresh(self.post_message, self.TablesDrawn(self.question.id))
            return
        self.shown = dict(results)
        await self.draw(results)
        self.call_after_refresh(self.post_message, self.TablesDrawn(self.question.id))

    async def show_code(self, note: str) -> None:
        """A pack not trusted: nothing ran, but the code that would is shown all the same."""
        self.shown = None
        await self.draw({}, note)

    async def show_code_to_read(self, note: str) -> None:
        """Before answering, a pack not trusted: the code each variant would run, to read
        while answering; nothing runs, and nothing says which is right."""
        self.shown = None
        await self.draw({}, note, cards_to_read(self.question, self.language))

    async def draw(
        self, results: Results, note: str | None = None, cards: list[Card] | None = None
    ) -> None:
        # One layout for the whole lab: between the awaits below the screen would lay out
        # (and measure) every card and table half-mounted, once a frame.
        with self.app.batch_update():
            await self.draw_batched(results, note, cards)

    async def draw_batched(
        self, results: Results, note: str | None, cards: list[Card] | None
    ) -> None:
        question = self.question
        body = self.query_one("#lab-body", Vertical)
        await body.remove_children()
        widgets: list[Widget] = []
        if note is not None:
            widgets.append(Static(RichText(printable(note)), classes="lab-note"))
        experiment = question.experiment
        if experiment is not None and experiment.setup is not None:
            widgets.append(SharedSetup(experiment.setup))
        if cards is None:
            cards = cards_for(question, results, self.response, self.language, self.yours)
        current = self.opening(results, {c.heading.variant: c.heading for c in cards})
        tables = VariantTables(question, cards, current)
        # A panel drawn out of sight has no width yet; its parent's is the one it will get.
        width = self.size.width or (
            self.parent.size.width if isinstance(self.parent, Widget) else 0
        )
        tables.set_reactive(VariantTables.fit, layout_for(cards, width))
        widgets.append(tables)
        if results:
            graph = GraphPanel()
            graph.display = self.graph_on
            widgets.append(graph)
        if (len(results) > 1 and comparable_columns(results)) or plottable_columns(results):
            widgets.append(Comparison(question, results))
        await body.mount_all(widgets)
        await self.show_arrangement()
        self.draw_graph()
        # The lab's keys ([ ], z, c, v) depend on what was just drawn.
        self.screen.refresh_bindings()

    async def show_note(self, text: str, loading: bool = False) -> None:
        """A line in place of the tables: why there are none, or that they are on their way."""
        self.shown = None
        body = self.query_one("#lab-body", Vertical)
        await body.remove_children()
        widgets: list[Any] = [Static(RichText(printable(text)), classes="lab-note")]
        if loading:
            widgets.append(LoadingIndicator())
        await body.mount_all(widgets)

    def step_variant(self, delta: int) -> str | None:
        tables = self.tables()
        return tables.step(delta) if tables is not None else None

    def comparison(self) -> Comparison | None:
        found = self.query(Comparison)
        return found.first() if found else None

    def has_setup(self) -> bool:
        return bool(self.query(SharedSetup))

    def has_graph(self) -> bool:
        return bool(self.query(GraphPanel))

    def toggle_graph(self) -> bool:
        """Show or hide the graph; whether it is shown now."""
        self.graph_on = not self.graph_on
        for panel in self.query(GraphPanel):
            panel.display = self.graph_on
        self.draw_graph()
        return self.graph_on

    def draw_graph(self) -> None:
        """The graph of the variant on display at the row its table's cursor is on."""
        tables, results = self.tables(), self.shown
        found = self.query(GraphPanel)
        if not self.graph_on or not found or tables is None or not results:
            return
        variant = tables.current
        if variant is None:
            return
        card = next((t for t in self.query(VariantTable) if t.variant == variant), None)
        row = card.cursor_row() if card is not None else None
        reference = reference_variant(self.question, results)
        found.first().show(graph_view(results, variant, row, reference))

    @on(VariantTable.RowHighlighted)
    def row_moved(self, event: VariantTable.RowHighlighted) -> None:
        event.stop()
        tables = self.tables()
        # Every table's cursor moves as it is filled: only the one on display counts.
        if tables is not None and tables.current == event.variant:
            self.draw_graph()

    @on(VariantTables.Shown)
    def variant_shown(self, event: VariantTables.Shown) -> None:
        event.stop()
        self.draw_graph()

    def toggle_setup(self) -> bool:
        found = self.query(SharedSetup)
        if not found:
            return False
        setup = found.first()
        setup.unfolded = not setup.unfolded
        return True
