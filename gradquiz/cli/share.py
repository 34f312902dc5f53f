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
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from gradquiz import difference, display, grading
from gradquiz.difference import Difference
from gradquiz.format.model import MAIN, Code, NumericAnswer, Question
from gradquiz.i18n import _
from gradquiz.lab.protocol import Graph, VariantResult
from gradquiz.variants import (
    Comparison,
    Heading,
    Slot,
    SlotKind,
    VariantCode,
    headings,
    variant_codes,
)

Results = Mapping[str, VariantResult]
Headings = Mapping[str, Heading]


def run_document(
    question: Question, results: Results, torch_version: str, language: str | None = None
) -> dict[str, Any]:
    """`gradquiz run --json`: the object the command-line contract describes, and what the
    lab says of each variant (its choice's text, how it differs, a gloss of its error)."""
    explained = difference.explain(question, results)
    found = headings(question, results, language=language)
    document: dict[str, Any] = {
        "question": question.id,
        "torch": torch_version.split("+", maxsplit=1)[0],
        "variants": [
            {
                "id": result.variant,
                "columns": result.columns,
                "rows": [
                    {
                        "step": row.step,
                        "values": display.jsonable(row.values),
                        "graph": _graph_document(result.graph_at(index)),
                    }
                    for index, row in enumerate(result.rows)
                ],
                "error": None
                if result.error is None
                else {
                    "type": result.error.type,
                    "message": result.error.message,
                    "step": result.error.step,
                },
                "error_graph": _graph_document(result.error_graph),
                "correct": grading.variant_correct(question, result.variant, results),
                "output": result.output,
                "text": found[result.variant].text,
                "differences": [difference_document(d) for d in explained[result.variant]],
                "gloss": difference.gloss(result.error) if result.error else None,
            }
            for result in results.values()
        ],
    }
    value = grading.numeric_value(question, results) if question.type == "numeric" else None
    if value is not None:
        document["answer"] = value
    return document


def _graph_document(graph: Graph | None) -> dict[str, Any] | None:
    return None if graph is None else asdict(graph)


def difference_document(found: Difference) -> dict[str, Any]:
    first = found.first
    return {
        "subject": found.subject,
        "against": found.against,
        "same": found.same,
        "sentence": found.sentence,
        "step": first.step if first else None,
        "column": first.column if first else None,
        "value": display.jsonable(first.value) if first else None,
        "against_value": display.jsonable(first.against) if first else None,
        "patterns": [pattern.name.lower() for pattern in found.patterns],
        "max_delta": display.jsonable(found.max_delta),
        "cells": found.cells,
    }


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


def fenced(source: str, language: str = "python") -> list[str]:
    """A code block whose fence no run of backticks in `source` can close."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", source.rstrip(), fence]


def code_markdown(code: VariantCode) -> list[str]:
    """The code a variant ran beyond what every variant shares: its step code, its setup."""
    title = (
        display.plural(
            code.steps,
            "Step code (this choice's own, run {n} time):",
            "Step code (this choice's own, run {n} times):",
        )
        if code.own_step
        else display.plural(
            code.steps,
            "Step code (the experiment's, run {n} time):",
            "Step code (the experiment's, run {n} times):",
        )
    )
    lines = [title, "", *fenced(code.step.source), ""]
    if code.setup is not None:
        lines += [_("Its extra setup, after the shared one:"), "", *fenced(code.setup.source), ""]
    return lines


def shared_markdown(code: VariantCode) -> list[str]:
    """What every variant runs: the shared setup and the watch expressions."""
    lines = []
    if code.shared_setup is not None:
        lines += [_("Setup, shared by every variant:"), "", *fenced(code.shared_setup.source), ""]
    if code.watch is None:
        lines += [
            _("Watch: the default (each parameter of `model` and its gradient, then `loss`)."),
            "",
        ]
    else:
        lines += [_("Watch:"), ""]
        lines += [f"- {_cell(label)}: `{_cell(expr.source.strip())}`" for label, expr in code.watch]
        lines.append("")
    return lines


def variant_markdown(
    question: Question,
    result: VariantResult,
    results: Results,
    language: str | None = None,
    code: VariantCode | None = None,
) -> str:
    heading = headings(question, results, language=language)[result.variant]
    mark = f" {heading.mark}" if heading.mark else ""
    text = f" {heading.text.strip()}" if heading.text else ""
    lines = [f"**{result.variant}**{mark}{text}", ""]
    if code is not None:
        lines += code_markdown(code)
    lines.append("| " + _("step") + " | " + " | ".join(_cell(c) for c in result.columns) + " |")
    lines.append("|---:|" + "---:|" * len(result.columns))
    for row in result.rows:
        cells = [_cell(display.cell(row.values.get(c))) for c in result.columns]
        lines.append(f"| {row.step} | " + " | ".join(cells) + " |")
    if result.error is not None:
        raised = (
            _("Raised: `{error}`")
            if result.error.step is None
            else _("Raised at step {step}: `{error}`")
        )
        lines += ["", raised.format(error=result.error, step=result.error.step)]
        gloss = difference.gloss(result.error)
        if gloss is not None:
            lines += ["", _("What it means: {gloss}").format(gloss=gloss)]
    for found in difference.explain(question, results)[result.variant]:
        # One line each, whatever the watch labels they quote hold.
        lines += ["", display.one_line(found.sentence)]
    if result.output.strip():
        lines += ["", _("Printed:"), "", "```text", result.output.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def run_markdown(question: Question, results: Results, language: str | None) -> str:
    parts = [f"### {question.title.get(language)} (`{question.id}`)\n"]
    codes = variant_codes(question)
    shared = next(iter(codes.values()), None)
    if shared is not None:
        parts.append("\n".join(shared_markdown(shared)))
    parts += [
        variant_markdown(question, r, results, language, codes.get(r.variant))
        for r in results.values()
    ]
    if question.type == "numeric":
        value = grading.numeric_value(question, results)
        if value is not None:
            parts.append(_("Answer: **{value}**").format(value=display.number(value)) + "\n")
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
        return _("**true**") if answer else _("**false**")
    if isinstance(answer, NumericAnswer):
        value = grading.numeric_value(question, results)
        shown = display.number(value) if value is not None else _("(the experiment gave no number)")
        accepted = _("**{value}** (accepted within ±{tolerance:g})")
        return accepted.format(value=shown, tolerance=answer.tolerance)
    if question.type == "trace":
        from gradquiz.blanks import expected

        main = results.get(MAIN)
        cells = [
            f"{blank.label()}: **{_blank_value(expected(blank, main) if main else None)}**"
            for blank in question.blanks
        ]
        return _("the blank cells, ") + "; ".join(cells)
    lines = "\n".join(question.lines)
    return _("the lines in this order:") + "\n\n```python\n" + lines + "\n```"


def _blank_value(value: float | str | None) -> str:
    if value is None:
        return "(not in the run)"
    return display.number(value) if isinstance(value, float) else value


def question_markdown(question: Question, results: Results | None, language: str | None) -> str:
    """One question of a handout: the question, its code, the key, and the runs' tables."""
    out = [f"## {question.title.get(language)}", ""]
    line = _("`{id}` · {type} · topic `{topic}`")
    out += [line.format(id=question.id, type=question.type, topic=question.topic), ""]
    out += [question.prompt.get(language).rstrip(), ""]
    experiment = question.experiment
    if experiment is not None:
        out += _code_block(experiment.setup, _("Setup"))
        if question.type != "order":
            times = display.plural(
                experiment.steps, "Step code (run {n} time)", "Step code (run {n} times)"
            )
            out += _code_block(experiment.code, times)
    if question.choices:
        out += [_("Choices:"), ""]
        for choice in question.choices:
            out.append(f"- **{choice.id}**: {choice.text.get(language)}")
        out.append("")
        for choice in question.choices:
            out += _code_block(choice.code, _("Choice {id} runs").format(id=choice.id))
    if question.type == "order":
        out += [
            _("Lines to arrange (correct order below, distractors mixed in for the learner):"),
            "",
        ]
        out += [f"- `{line}`" for line in (*question.lines, *question.distractors)]
        out.append("")
    key = correct_answer(question, results or {}, language)
    out += [_("**Answer:** {answer}").format(answer=key), ""]
    wrong = [c for c in question.choices if c.feedback and c.id not in question.correct_choices()]
    for choice in wrong:
        assert choice.feedback is not None
        why = _("- Why not {id}: {feedback}")
        out += [why.format(id=choice.id, feedback=choice.feedback.get(language).strip())]
    if wrong:
        out.append("")
    if question.explanation is not None:
        out += [_("**Explanation.** ") + question.explanation.get(language).strip(), ""]
    if results:
        out += ["### " + _("What PyTorch computes"), ""]
        out += [variant_markdown(question, r, results, language) for r in results.values()]
    return "\n".join(out).rstrip() + "\n"


def _slot_value(slot: Slot) -> Any:
    """A comparison cell at full precision: the value, the error's text, or None."""
    if slot.kind is SlotKind.VALUE:
        return slot.value
    return str(slot.error) if slot.error is not None else None


def comparison_document(
    question: Question, comparison: Comparison, found: Headings
) -> dict[str, Any]:
    """`run --compare COLUMN --json`: the column across variants, the right one first."""
    return {
        "question": question.id,
        "column": comparison.column,
        "variants": [
            {"id": v, "text": found[v].text, "correct": found[v].correct}
            for v in comparison.variants
        ],
        "rows": [
            {
                "step": row.step,
                "values": {
                    v: display.jsonable(_slot_value(slot))
                    for v, slot in zip(comparison.variants, row.slots, strict=True)
                    if slot.kind is SlotKind.VALUE
                },
                "errors": {
                    v: str(slot.error)
                    for v, slot in zip(comparison.variants, row.slots, strict=True)
                    if slot.error is not None
                },
                "differs": [
                    v
                    for v, slot in zip(comparison.variants, row.slots, strict=True)
                    if slot.differs
                ],
            }
            for row in comparison.rows
        ],
    }


def comparison_csv(comparison: Comparison) -> str:
    """Wide: `step` then one column per variant (the right one first), full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", *comparison.variants])
    for row in comparison.rows:
        writer.writerow([row.step, *(_csv_value(_slot_value(slot)) for slot in row.slots)])
    return buffer.getvalue()


def comparison_markdown(question: Question, comparison: Comparison, found: Headings) -> str:
    """The column across variants as a markdown table; ≠ marks a cell unlike the right one's."""
    titles = [_cell(f"{v} {found[v].mark}".strip()) for v in comparison.variants]
    lines = [
        f"### {_cell(comparison.column)} across the variants of `{question.id}`",
        "",
        "| step | " + " | ".join(titles) + " |",
        "|---:|" + "---:|" * len(titles),
    ]
    for row in comparison.rows:
        cells = [_cell(slot.text + (" ≠" if slot.differs else "")) for slot in row.slots]
        lines.append(f"| {row.step} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {found[v].line()}" for v in comparison.variants]
    return "\n".join(lines) + "\n"
