"""A pack as Moodle XML (the question bank's import format), with PyTorch's tables inside.

single and multiple become `multichoice`, truefalse `truefalse`, numeric `numerical` (the
number the run computed, within the question's tolerance), order `ordering` (qtype_ordering:
Moodle's ordering question type, a plugin before Moodle 4.4). Grades are fractions from
Moodle's fixed list (it rejects a file with any other): a multiple question gives each right
choice 100/k percent and takes 100/m percent for each of the m wrong ones, so ticking every box
scores nothing. Every text is HTML inside CDATA: pack Markdown is rendered with raw HTML off
(written `<b>` shows as `<b>`), everything else is escaped.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from gradquiz import display, grading
from gradquiz.format import Library, Question
from gradquiz.format.model import NumericAnswer, Text
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.lab.protocol import VariantResult

Results = Mapping[str, "VariantResult"]

# Moodle's grade options (question_bank::fraction_options_full) as percentages, written as
# Moodle writes them; its import matches a fraction within 1e-5 of one of these or refuses it.
FRACTIONS = (
    "100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40",
    "33.33333", "30", "25", "20", "16.66667", "14.28571", "12.5", "11.11111", "10", "5",
)  # fmt: skip

_markdown = MarkdownIt("commonmark", {"html": False})
# Characters XML 1.0 forbids even inside CDATA (printable has escaped the controls already).
_NOT_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Skipped:
    question: str
    reason: str


@dataclass(frozen=True)
class Export:
    xml: str
    skipped: list[Skipped]
    written: int


def fraction_at_least(share: float) -> str | None:
    """The smallest of Moodle's grade options not below `share` percent (None over 100)."""
    fits = [f for f in FRACTIONS if float(f) >= share - 1e-5]
    return min(fits, key=float) if fits else None


def exact_fraction(share: float) -> str | None:
    """Moodle's grade option equal to `share` percent, if there is one."""
    return next((f for f in FRACTIONS if abs(float(f) - share) < 1e-5), None)


def _safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", display.printable(text))


def rich(text: Text | None, lang: str | None) -> str:
    """Pack Markdown as HTML, with any HTML the author wrote shown as text."""
    return "" if text is None else str(_markdown.render(text.get(lang).strip()))


def inline(text: Text, lang: str | None) -> str:
    """Short Markdown (a choice) as HTML without the paragraph around it."""
    return str(_markdown.renderInline(text.get(lang).strip()))


def cdata(content: str) -> str:
    # "]]>" cannot sit inside one CDATA section: split it across two.
    return "<![CDATA[" + _safe(content).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_element(tag: str, content: str, fmt: str | None = "html", indent: str = "    ") -> str:
    attribute = f' format="{fmt}"' if fmt else ""
    return f"{indent}<{tag}{attribute}>\n{indent}  <text>{cdata(content)}</text>\n{indent}</{tag}>"


def variant_table(question: Question, result: VariantResult, results: Results) -> str:
    """One run's trace as an HTML table, values rounded as gradquiz shows them."""
    correct = grading.variant_correct(question, result.variant, results)
    mark = {True: _(" ✓ correct"), False: " ✗", None: ""}[correct]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [_("step"), *result.columns])
    rows = []
    for row in result.rows:
        cells = [str(row.step)] + [display.cell(row.values.get(c)) for c in result.columns]
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>")
    if result.error is not None:
        step = "" if result.error.step is None else str(result.error.step)
        span = len(result.columns) or 1
        raised = html.escape(_("raised: {error}").format(error=result.error))
        rows.append(f'<tr><td>{step}</td><td colspan="{span}">{raised}</td></tr>')
    caption = f"<caption><strong>{html.escape(result.variant)}</strong>{mark}</caption>"
    return (
        f'<table border="1" cellpadding="3">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def general_feedback(question: Question, results: Results, lang: str | None) -> str:
    parts = [rich(question.explanation, lang)]
    if results:
        heading = html.escape(_("What PyTorch computes"))
        parts.append(f"<p><strong>{heading}</strong></p>")
        parts += [variant_table(question, r, results) for r in results.values()]
    return "\n".join(p for p in parts if p)


# Moodle's columns: a longer name or idnumber fails the import of the whole file.
NAME_CHARS = 255
IDNUMBER_CHARS = 100


def _head(question: Question, qtype: str, results: Results, lang: str | None) -> list[str]:
    # A longer id is left out rather than cut, which could make two ids one.
    idnumber = html.escape(question.id) if len(question.id) <= IDNUMBER_CHARS else ""
    return [
        f'  <question type="{qtype}">',
        "    <name>",
        f"      <text>{cdata(question.title.get(lang)[:NAME_CHARS])}</text>",
        "    </name>",
        text_element("questiontext", rich(question.prompt, lang)),
        text_element("generalfeedback", general_feedback(question, results, lang)),
        "    <defaultgrade>1</defaultgrade>",
        f"    <penalty>{'1' if qtype == 'truefalse' else '0.3333333'}</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{idnumber}</idnumber>",
    ]


def _answer(fraction: str, text: str, feedback: str, extra: str = "", fmt: str = "html") -> str:
    return "\n".join(
        [
            f'    <answer fraction="{fraction}" format="{fmt}">',
            f"      <text>{cdata(text)}</text>",
            text_element("feedback", feedback, indent="      "),
            *([extra] if extra else []),
            "    </answer>",
        ]
    )


def _hints(question: Question, lang: str | None) -> list[str]:
    return [text_element("hint", rich(hint, lang)) for hint in question.hints]


def multichoice(question: Question, results: Results, lang: str | None) -> str:
    right = question.correct_choices()
    wrong = len(question.choices) - len(right)
    single = question.type == "single"
    if not right:
        raise ValueError(_("no choice is right: Moodle needs one"))
    right_fraction = "100" if single else exact_fraction(100 / len(right))
    if right_fraction is None:
        raise ValueError(
            _("{count} right choices: Moodle has no grade of 100/{count}%").format(count=len(right))
        )
    # Ticking a wrong box costs its share, so ticking all of them scores nothing.
    wrong_fraction = "0" if single or not wrong else "-" + (fraction_at_least(100 / wrong) or "5")
    letters = [chr(ord("A") + i) for i in range(len(question.choices))]
    lettered = [c.id for c in question.choices] == letters
    lines = _head(question, "multichoice", results, lang)
    lines += [
        f"    <single>{'true' if single else 'false'}</single>",
        # Unshuffled and lettered A, B, ... so that a prompt naming a choice still matches.
        "    <shuffleanswers>0</shuffleanswers>",
        f"    <answernumbering>{'ABCD' if lettered else 'none'}</answernumbering>",
        "    <showstandardinstruction>0</showstandardinstruction>",
        text_element("correctfeedback", _("Your answer is correct.")),
        text_element("partiallycorrectfeedback", _("Your answer is partially correct.")),
        text_element("incorrectfeedback", _("Your answer is incorrect.")),
        "    <shownumcorrect/>",
    ]
    for choice in question.choices:
        text = inline(choice.text, lang)
        if not lettered:
            text = f"<strong>{html.escape(choice.id)}</strong>: {text}"
        feedback = rich(choice.feedback, lang)
        if choice.id in results:
            feedback += variant_table(question, results[choice.id], results)
        fraction = right_fraction if choice.id in right else wrong_fraction
        lines.append(_answer(fraction, text, feedback))
    return "\n".join([*lines, *_hints(question, lang), "  </question>"])


def truefalse(question: Question, results: Results, lang: str | None) -> str:
    lines = _head(question, "truefalse", results, lang)
    for value in (True, False):
        fraction = "100" if question.answer is value else "0"
        lines.append(_answer(fraction, str(value).lower(), "", fmt="moodle_auto_format"))
    return "\n".join([*lines, *_hints(question, lang), "  </question>"])


def numerical(question: Question, results: Results, lang: str | None) -> str:
    answer = question.answer
    assert isinstance(answer, NumericAnswer)
    value = grading.numeric_value(question, results)
    if value is None or not math.isfinite(value):
        raise ValueError(_("the experiment gave no finite number to key the answer with"))
    tolerance = f"      <tolerance>{answer.tolerance!r}</tolerance>"
    lines = _head(question, "numerical", results, lang)
    lines.append(_answer("100", repr(value), "", tolerance, fmt="moodle_auto_format"))
    lines += [
        "    <unitgradingtype>0</unitgradingtype>",
        "    <unitpenalty>0.1000000</unitpenalty>",
        "    <showunits>3</showunits>",
        "    <unitsleft>0</unitsleft>",
    ]
    return "\n".join([*lines, *_hints(question, lang), "  </question>"])


def ordering(question: Question, results: Results, lang: str | None) -> str:
    lines = _head(question, "ordering", results, lang)
    lines += [
        "    <layouttype>VERTICAL</layouttype>",
        "    <selecttype>ALL</selecttype>",
        "    <selectcount>0</selectcount>",
        "    <gradingtype>ABSOLUTE_POSITION</gradingtype>",
        "    <showgrading>SHOW</showgrading>",
        "    <numberingstyle>none</numberingstyle>",
        text_element("correctfeedback", _("Your answer is correct.")),
        text_element("partiallycorrectfeedback", _("Your answer is partially correct.")),
        text_element("incorrectfeedback", _("Your answer is incorrect.")),
        "    <shownumcorrect>1</shownumcorrect>",
    ]
    # qtype_ordering keys the order by each answer's fraction: 1, 2, 3, ...
    for position, line in enumerate(question.lines, start=1):
        lines.append(_answer(f"{position}", f"<code>{html.escape(line)}</code>", ""))
    return "\n".join([*lines, *_hints(question, lang), "  </question>"])


WRITERS = {
    "single": multichoice,
    "multiple": multichoice,
    "truefalse": truefalse,
    "numeric": numerical,
    "order": ordering,
}


def category(name: str) -> str:
    return "\n".join(
        [
            '  <question type="category">',
            "    <category>",
            f"      <text>{cdata('$course$/gradquiz/' + name.replace('/', '-'))}</text>",
            "    </category>",
            "  </question>",
        ]
    )


def export(
    library: Library,
    runs: Mapping[str, Results],
    lang: str | None,
    ordering_plugin: bool = True,
) -> Export:
    """Every question Moodle can hold, one category per pack; the rest listed as skipped."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    skipped = []
    written = 0
    packs = {q.pack.file: q.pack for q in library.questions}
    for pack in packs.values():
        parts.append(category(pack.title.get(lang) if pack.title else Path(pack.file).stem))
        for question in (q for q in library.questions if q.pack.file == pack.file):
            if question.type == "order" and not ordering_plugin:
                skipped.append(Skipped(question.id, _("an order question needs qtype_ordering")))
                continue
            try:
                parts.append(WRITERS[question.type](question, runs.get(question.id, {}), lang))
            except ValueError as exc:
                skipped.append(Skipped(question.id, str(exc)))
                continue
            written += 1
    parts.append("</quiz>")
    return Export("\n".join(parts) + "\n", skipped, written)
