"""Runs as documents to share: the contract's JSON, markdown tables, tidy CSV; pack handouts.

CSV is tidy: one row per (variant, step, column) with the header
`question,variant,step,column,value,error`. `value` keeps full precision (numbers as Python
writes them, tensors as JSON arrays, booleans as true/false, None as an empty cell);
a variant that raised adds one row with its step, empty `column` and `value`, and the
error in `error`. Markdown rounds for reading, like the app; JSON and CSV do not.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from gradquiz import display, grading
from gradquiz.format.model import Code, NumericAnswer, Question
from gradquiz.lab.protocol import VariantResult

Results = Mapping[str, VariantResult]


def run_document(question: Question, results: Results, torch_version: str) -> dict[str, Any]:
    """`gradquiz run --json`: the object the command-line contract describes."""
    document: dict[str, Any] = {
        "question": question.id,
        "torch": torch_version.split("+", maxsplit=1)[0],
        "variants": [
            {
                "id": result.variant,
                "columns": result.columns,
                "rows": [
                    {"step": row.step, "values": display.jsonable(row.values)}
                    for row in result.rows
                ],
                "error": None
                if result.error is None
                else {
                    "type": result.error.type,
                    "message": result.error.message,
                    "step": result.error.step,
                },
                "correct": grading.variant_correct(question, result.variant, results),
                "output": result.output,
            }
            for result in results.values()
        ],
    }
    value = grading.numeric_value(question, results) if question.type == "numeric" else None
    if value is not None:
        document["answer"] = value
    return document


def render_run(fmt: str, question: Question, results: Results, language: str | None) -> str:
    """`run --format csv` or `markdown` (the JSON document is `run_document`)."""
    if fmt == "csv":
        return run_csv(question, results)
    return run_markdown(question, results, language)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(display.jsonable(value))
    if isinstance(value, list):
        return json.dumps(display.jsonable(value))
    return str(value)


def run_csv(question: Question, results: Results) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["question", "variant", "step", "column", "value", "error"])
    for result in results.values():
        for row in result.rows:
            for column in result.columns:
                value = _csv_value(row.values.get(column))
                writer.writerow([question.id, result.variant, row.step, column, value, ""])
        if result.error is not None:
            step = "" if result.error.step is None else result.error.step
            writer.writerow([question.id, result.variant, step, "", "", str(result.error)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A markdown table cell: pipes escaped, line breaks kept on one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def variant_markdown(question: Question, result: VariantResult, results: Results) -> str:
    correct = grading.variant_correct(question, result.variant, results)
    mark = {True: " ✓ correct", False: " ✗", None: ""}[correct]
    choice = question.choice(result.variant)
    lines = [f"**{result.variant}**{mark}" + (f": {choice.text.get()}" if choice else ""), ""]
    lines.append("| step | " + " | ".join(_cell(c) for c in result.columns) + " |")
    lines.append("|---:|" + "---:|" * len(result.columns))
    for row in result.rows:
        cells = [_cell(display.cell(row.values.get(c))) for c in result.columns]
        lines.append(f"| {row.step} | " + " | ".join(cells) + " |")
    if result.error is not None:
        where = "" if result.error.step is None else f" at step {result.error.step}"
        lines += ["", f"Raised{where}: `{result.error}`"]
    if result.output.strip():
        lines += ["", "Printed:", "", "```text", result.output.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def run_markdown(question: Question, results: Results, language: str | None) -> str:
    parts = [f"### {question.title.get(language)} (`{question.id}`)\n"]
    parts += [variant_markdown(question, r, results) for r in results.values()]
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            parts.append(f"Answer: **{display.number(value)}**\n")
    return "\n".join(parts)


def _code_block(code: Code | None, title: str) -> list[str]:
    if code is None:
        return []
    return [f"{title}:", "", "```python", code.source.rstrip(), "```", ""]


def correct_answer(question: Question, results: Results, language: str | None) -> str:
    """The key in words, as a handout states it."""
    answer = question.answer
    if question.type in ("single", "multiple"):
        right = [c for c in question.choices if c.id in question.correct_choices()]
        return "; ".join(f"**{c.id}**: {c.text.get(language)}" for c in right)
    if question.type == "truefalse":
        return "**true**" if answer else "**false**"
    if isinstance(answer, NumericAnswer):
        value = grading.numeric_value(question, results)
        shown = display.number(value) if value is not None else "(the experiment gave no number)"
        return f"**{shown}** (accepted within ±{answer.tolerance:g})"
    if question.type == "trace":
        from gradquiz.blanks import expected

        main = results.get("main")
        cells = [
            f"{blank.label()}: **{_blank_value(expected(blank, main) if main else None)}**"
            for blank in question.blanks
        ]
        return "the blank cells, " + "; ".join(cells)
    return "the lines in this order:\n\n```python\n" + "\n".join(question.lines) + "\n```"


def _blank_value(value: float | str | None) -> str:
    if value is None:
        return "(not in the run)"
    return display.number(value) if isinstance(value, float) else value


def question_markdown(question: Question, results: Results | None, language: str | None) -> str:
    """One question of a handout: the question, its code, the key, and the runs' tables."""
    out = [f"## {question.title.get(language)}", ""]
    out += [f"`{question.id}` · {question.type} · topic `{question.topic}`", ""]
    out += [question.prompt.get(language).rstrip(), ""]
    experiment = question.experiment
    if experiment is not None:
        out += _code_block(experiment.setup, "Setup")
        if question.type != "order":
            out += _code_block(
                experiment.code, f"Step code (run {display.plural(experiment.steps, 'time')})"
            )
    if question.choices:
        out += ["Choices:", ""]
        for choice in question.choices:
            out.append(f"- **{choice.id}**: {choice.text.get(language)}")
        out.append("")
        for choice in question.choices:
            out += _code_block(choice.code, f"Choice {choice.id} runs")
    if question.type == "order":
        out += ["Lines to arrange (correct order below, distractors mixed in for the learner):", ""]
        out += [f"- `{line}`" for line in (*question.lines, *question.distractors)]
        out.append("")
    out += [f"**Answer:** {correct_answer(question, results or {}, language)}", ""]
    wrong = [c for c in question.choices if c.feedback and c.id not in question.correct_choices()]
    for choice in wrong:
        assert choice.feedback is not None
        out += [f"- Why not {choice.id}: {choice.feedback.get(language).strip()}"]
    if wrong:
        out.append("")
    if question.explanation is not None:
        out += ["**Explanation.** " + question.explanation.get(language).strip(), ""]
    if results:
        out += ["### What PyTorch computes", ""]
        out += [variant_markdown(question, r, results) for r in results.values()]
    return "\n".join(out).rstrip() + "\n"
