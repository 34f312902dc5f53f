"""Draws: the parameters' values and the choices' order for one attempt. Pure, no torch.

Draw K takes the K-th combination of the parameters' values, counting like an odometer with
the first parameter turning slowest, so draw 0 is every parameter's first value: the draw an
author writes a numeric `value` for. The seed orders the choices. Both are stored with the
answer, so the history and a re-run show the same numbers and letters.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace

from gradquiz.format.model import Choice, Draw, ParamValue, Question, Text

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# `check` runs every draw of a question with at most this many; more are sampled.
EVERY_DRAW_UP_TO = 8


def draw_count(question: Question) -> int:
    """How many different draws the parameters make (1 without parameters)."""
    return math.prod(len(p.values) for p in question.params)


def values(question: Question, number: int) -> dict[str, ParamValue]:
    """The parameters' values in draw `number` (taken modulo the number of draws)."""
    rest = number % draw_count(question)
    picked: dict[str, ParamValue] = {}
    for param in reversed(question.params):
        rest, index = divmod(rest, len(param.values))
        picked[param.name] = param.values[index]
    return {p.name: picked[p.name] for p in question.params}


def choice_order(question: Question, seed: int) -> tuple[str, ...]:
    """The choice ids in the order an attempt with `seed` shows them; ids never change."""
    ids = [c.id for c in question.original.choices]
    if question.shuffle:
        # A string seed: Random hashes it the same way in every process and Python version.
        random.Random(f"{question.id}:{seed}").shuffle(ids)
    return tuple(ids)


def new_draw(question: Question, rng: random.Random | None = None) -> Draw:
    """A fresh draw for an attempt: any of the question's draws, any order of its choices."""
    rng = rng or random.Random()
    return Draw(rng.randrange(draw_count(question)), rng.getrandbits(32))


def sampled(question: Question, wanted: int | None) -> list[int]:
    """The draw numbers `check` runs: all of them when there are at most EVERY_DRAW_UP_TO
    (or `wanted` is at least their count); else `wanted` spread evenly, draw 0 first."""
    count = draw_count(question)
    if wanted is None:
        wanted = count if count <= EVERY_DRAW_UP_TO else EVERY_DRAW_UP_TO
    wanted = max(1, min(wanted, count))
    return sorted({round(i * count / wanted) for i in range(wanted)})


def shown(value: ParamValue) -> str:
    """A drawn value as a text shows it: `0.001`, `3`, `true`."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def fill(text: str, drawn_values: dict[str, ParamValue]) -> str:
    """`{{name}}` replaced by the drawn value; the loader has refused any other name."""
    return PLACEHOLDER.sub(
        lambda m: shown(drawn_values[m[1]]) if m[1] in drawn_values else m[0], text
    )


def _fill_text(text: Text, drawn_values: dict[str, ParamValue]) -> Text:
    return Text({lang: fill(body, drawn_values) for lang, body in text.by_language.items()})


def drawn(question: Question, draw: Draw) -> Question:
    """The question as one attempt shows it: texts filled in, choices in the draw's order.

    `requests_for` runs a drawn question with its draw's values; `content_hash` reads the
    question as written (`template`), so every draw keeps one history.
    """
    original = question.original
    picked = values(original, draw.number)

    def one(text: Text | None) -> Text | None:
        return None if text is None else _fill_text(text, picked)

    by_id = {c.id: c for c in original.choices}
    choices = tuple(
        Choice(c.id, _fill_text(c.text, picked), c.code, c.setup, one(c.feedback))
        for c in (by_id[i] for i in choice_order(original, draw.seed))
    )
    return replace(
        original,
        title=_fill_text(original.title, picked),
        prompt=_fill_text(original.prompt, picked),
        hints=tuple(_fill_text(h, picked) for h in original.hints),
        explanation=one(original.explanation),
        choices=choices,
        draw=draw,
        template=original,
    )


def for_run(question: Question, number: int) -> Question:
    """Draw `number` for `gradquiz run` and `check`: its values, the choices as written."""
    return in_written_order(drawn(question, Draw(number, 0)))


def in_written_order(question: Question) -> Question:
    """An attempt with its choices back in the order they were written (its values kept)."""
    by_id = {c.id: c for c in question.choices}
    return replace(question, choices=tuple(by_id[c.id] for c in question.original.choices))


def drawn_values(question: Question) -> dict[str, ParamValue]:
    """The values a question runs with: its draw's, or draw 0's for a question as written."""
    return values(question, question.draw.number if question.draw else 0)
