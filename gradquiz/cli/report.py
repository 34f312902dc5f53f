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

from gradquiz import display, grading
from gradquiz.cli.common import console
from gradquiz.format import Question
from gradquiz.lab.protocol import VariantResult

MARKS = {True: Text(" ✓ correct", style="green"), False: Text(" ✗", style="red"), None: Text()}
# Marks a cell a trace question's learner fills in; the author sees PyTorch's value beside it.
BLANK = "▢ "


def variant_table(
    question: Question, result: VariantResult, results: Mapping[str, VariantResult]
) -> Table:
    correct = grading.variant_correct(question, result.variant, results)
    choice = question.choice(result.variant)
    caption = Text(display.printable(choice.text.get())) if choice else None
    table = Table(
        title=Text.assemble((result.variant, "bold"), MARKS[correct]),
        caption=caption,
        caption_justify="left",
        title_justify="left",
    )
    # A trace question's blanks are placed by the row as shown, so its table numbers them.
    numbered = question.type == "trace"
    blanks = {(b.row, b.column) for b in question.blanks}
    if numbered:
        table.add_column("row", justify="right", style="dim")
    table.add_column("step", justify="right", style="dim")
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


def _cell(text: str, blank: bool) -> Text:
    return Text.assemble((BLANK, "reverse"), (text, "bold")) if blank else Text(text)


def print_run(
    question: Question, results: Mapping[str, VariantResult], language: str | None
) -> None:
    # 80 columns in a pipe: tables side by side only where they would fit a terminal.
    out = console(pipe_width=None)
    title = display.one_line(question.title.get(language))
    out.print(Text.assemble((title, "bold"), "  ", (f"({question.id})", "dim")))
    tables = [variant_table(question, r, results) for r in results.values()]
    out.print(Columns(tables, padding=(1, 3)))
    for result in results.values():
        if result.output.strip():
            printed = Text(display.printable(result.output.rstrip()))
            out.print(Group(Text(f"output of {result.variant}:", style="dim"), printed))
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
                f"{BLANK}marks a blank: the learner fills it in ({len(question.blanks)} in all)",
                style="dim",
            )
        )
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            out.print(Text.assemble("answer: ", (display.number(value), "bold")))
