"""`gradquiz run` for people: one Rich table per variant, side by side when they fit."""

from __future__ import annotations

from collections.abc import Mapping

from rich.columns import Columns
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from gradquiz import display, grading
from gradquiz.format import Question
from gradquiz.lab.protocol import VariantResult


def variant_table(
    question: Question, result: VariantResult, results: Mapping[str, VariantResult]
) -> Table:
    correct = grading.variant_correct(question, result.variant, results)
    mark = {True: " [green]✓ correct[/]", False: " [red]✗[/]", None: ""}[correct]
    choice = question.choice(result.variant)
    caption = choice.text.get() if choice else None
    table = Table(
        title=f"[b]{result.variant}[/]{mark}",
        caption=caption,
        caption_justify="left",
        title_justify="left",
    )
    table.add_column("step", justify="right", style="dim")
    for column in result.columns:
        table.add_column(column, justify="right")
    for row in result.rows:
        table.add_row(str(row.step), *(display.cell(row.values.get(c)) for c in result.columns))
    if result.error is not None:
        step = "" if result.error.step is None else str(result.error.step)
        table.add_row(step, Text(str(result.error), style="bold red"), end_section=True)
    return table


def print_run(
    question: Question, results: Mapping[str, VariantResult], language: str | None
) -> None:
    console = Console()
    console.print(f"[b]{question.title.get(language)}[/]  [dim]({question.id})[/]")
    tables = [variant_table(question, r, results) for r in results.values()]
    console.print(Columns(tables, padding=(1, 3)))
    for result in results.values():
        if result.output.strip():
            console.print(
                Group(f"[dim]output of {result.variant}:[/]", Text(result.output.rstrip()))
            )
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            console.print(f"answer: [b]{display.number(value)}[/]")
