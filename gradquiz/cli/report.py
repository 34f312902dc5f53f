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
from gradquiz.i18n import _
from gradquiz.lab.protocol import VariantResult


def variant_table(
    question: Question,
    result: VariantResult,
    results: Mapping[str, VariantResult],
    language: str | None,
) -> Table:
    correct = grading.variant_correct(question, result.variant, results)
    choice = question.choice(result.variant)
    caption = Text(display.printable(choice.text.get(language))) if choice else None
    marks = {
        True: Text(_(" ✓ correct"), style="green"),
        False: Text(" ✗", style="red"),
        None: Text(),
    }
    table = Table(
        title=Text.assemble((result.variant, "bold"), marks[correct]),
        caption=caption,
        caption_justify="left",
        title_justify="left",
    )
    table.add_column(_("step"), justify="right", style="dim")
    for column in result.columns:
        table.add_column(Text(display.one_line(column)), justify="right")
    for row in result.rows:
        cells = (Text(display.one_line(display.cell(row.values.get(c)))) for c in result.columns)
        table.add_row(str(row.step), *cells)
    if result.error is not None:
        step = "" if result.error.step is None else str(result.error.step)
        error = Text(display.one_line(str(result.error)), style="bold red")
        table.add_row(step, error, end_section=True)
    return table


def print_run(
    question: Question, results: Mapping[str, VariantResult], language: str | None
) -> None:
    # 80 columns in a pipe: tables side by side only where they would fit a terminal.
    out = console(pipe_width=None)
    title = display.one_line(question.title.get(language))
    out.print(Text.assemble((title, "bold"), "  ", (f"({question.id})", "dim")))
    tables = [variant_table(question, r, results, language) for r in results.values()]
    out.print(Columns(tables, padding=(1, 3)))
    for result in results.values():
        if result.output.strip():
            printed = Text(display.printable(result.output.rstrip()))
            label = _("output of {variant}:").format(variant=result.variant)
            out.print(Group(Text(label, style="dim"), printed))
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            out.print(Text.assemble(_("answer: "), (display.number(value), "bold")))
