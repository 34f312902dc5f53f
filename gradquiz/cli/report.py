"""`gradquiz run` for people: one Rich table per variant, side by side when they fit.

Everything from the pack or its run (title, choice text, watch labels, values, errors,
printed output) is a `Text`, escaped by `display`: shown as written, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.columns import Columns
from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradquiz import difference, display, grading
from gradquiz.cli.common import console
from gradquiz.format import Question
from gradquiz.i18n import _
from gradquiz.lab.protocol import VariantResult
from gradquiz.variants import Comparison, Heading, headings

Headings = Mapping[str, Heading]

MARK_STYLES = {"✓": "green", "✗": "red"}
# Marks a cell a trace question's learner fills in; the author sees PyTorch's value beside it.
BLANK = "▢ "


def heading_text(heading: Heading) -> Text:
    """`B ✓ zero_grad at the top · your pick`: the variant's id bold, its mark in colour."""
    text = Text(display.one_line(heading.variant), style="bold")
    if heading.mark:
        text.append(f" {heading.mark}", style=MARK_STYLES[heading.mark])
    if heading.text:
        text.append(f" {display.one_line(heading.text.strip())}")
    if heading.picked:
        text.append(" · your pick", style="dim")
    return text


def variant_table(question: Question, heading: Heading, result: VariantResult) -> Table:
    table = Table(title=heading_text(heading), title_justify="left")
    # A trace question's blanks are placed by the row as shown, so its table numbers them.
    numbered = question.type == "trace"
    blanks = {(b.row, b.column) for b in question.blanks}
    if numbered:
        table.add_column(_("row"), justify="right", style="dim")
    table.add_column(_("step"), justify="right", style="dim")
    for column in result.columns:
        table.add_column(Text(display.one_line(column)), justify="right")
    for index, row in enumerate(result.rows, 1):
        cells = [
            _cell(display.one_line(display.cell(row.values.get(c))), (index, c) in blanks)
            for c in result.columns
        ]
        table.add_row(*([str(index)] if numbered else []), str(row.step), *cells)
    if result.error is not None:
        step = "" if result.error.step is None else str(result.error.step)
        error = Text(display.one_line(str(result.error)), style="bold red")
        if (len(result.rows) + 1, None) in blanks:
            error = Text.assemble((BLANK, "reverse"), error)
        number = [str(len(result.rows) + 1)] if numbered else []
        table.add_row(*number, step, error, end_section=True)
    return table


def explanation_lines(question: Question, results: Mapping[str, VariantResult]) -> list[str]:
    """What `run` says under the tables, in every format: each variant's sentences, then a
    gloss of each error PyTorch raised. Pack text in them is escaped."""
    lines = [
        display.one_line(d.sentence)
        for found in difference.explain(question, results).values()
        for d in found
    ]
    for result in results.values():
        gloss = difference.gloss(result.error) if result.error else None
        if result.error is not None and gloss is not None:
            lines.append(f"{display.one_line(result.variant)}, {result.error.type}: {gloss}")
    return lines


def _cell(text: str, blank: bool) -> Text:
    return Text.assemble((BLANK, "reverse"), (text, "bold")) if blank else Text(text)


def print_run(
    question: Question, results: Mapping[str, VariantResult], language: str | None
) -> None:
    # 80 columns in a pipe: tables side by side only where they would fit a terminal.
    out = console(pipe_width=None)
    title = display.one_line(question.title.get(language))
    out.print(Text.assemble((title, "bold"), "  ", (f"({question.id})", "dim")))
    found = headings(question, results, language=language)
    tables = [variant_table(question, found[v], r) for v, r in results.items()]
    out.print(Columns(tables, padding=(1, 3)))
    for line in explanation_lines(question, results):
        out.print(Text(line))
    for result in results.values():
        if result.output.strip():
            printed = Text(display.printable(result.output.rstrip()))
            label = _("output of {variant}:").format(variant=result.variant)
            out.print(Group(Text(label, style="dim"), printed))
    if question.params:
        from gradquiz.format.params import drawn_values, shown

        drew = ", ".join(f"{k} = {shown(v)}" for k, v in drawn_values(question).items())
        out.print(
            Text(
                display.one_line(f"draw {question.draw.number if question.draw else 0}: {drew}"),
                style="dim",
            )
        )
    if question.type == "trace":
        out.print(
            Text(
                BLANK
                + _("marks a blank: the learner fills it in ({count} in all)").format(
                    count=len(question.blanks)
                ),
                style="dim",
            )
        )
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            out.print(Text.assemble(_("answer: "), (display.number(value), "bold")))


def print_comparison(question: Question, comparison: Comparison, found: Headings) -> None:
    """The column across the variants, the right one first; ≠ marks a cell unlike its."""
    out = console(pipe_width=None)
    title = Text.assemble((display.one_line(comparison.column), "bold"), " across the variants ")
    title.append(f"({question.id})", style="dim")
    out.print(title)
    table = Table()
    table.add_column("step", justify="right", style="dim")
    for variant in comparison.variants:
        heading = found[variant]
        header = Text(display.one_line(variant), style="bold")
        if heading.mark:
            header.append(f" {heading.mark}", style=MARK_STYLES[heading.mark])
        table.add_column(header, justify="right")
    for row in comparison.rows:
        cells = []
        for slot in row.slots:
            cell = Text(display.one_line(slot.text), style="red" if slot.error else "")
            if slot.differs:
                cell.append(" ≠", style="red")
            cells.append(cell)
        table.add_row(str(row.step), *cells)
    out.print(table)
    for variant in comparison.variants:
        out.print(heading_text(found[variant]))
