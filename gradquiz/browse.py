"""The question list as a browser: which questions a set of filters lets through. No textual,
no torch: the list screen draws what `browse` returns.

A question passes when it is of the topic, the type and the state asked for (each `None` for
any) and every word of the text is found in its id, title, topic or prompt (any case).
States: `new` never answered; `due` answered, due for review now and no leech (what a drill
would serve); `wrong` last answered wrong; `leech` missed too often to drill
(`progress.leech`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gradquiz.format.model import Question

Answered = Literal["new", "right", "wrong"]
STATES = ("new", "due", "wrong", "leech")


@dataclass(frozen=True)
class Facts:
    """What the learner did with a question: its last result, next review, whether a leech."""

    state: Answered = "new"
    due: datetime | None = None
    leech: bool = False


@dataclass(frozen=True)
class Filters:
    topic: str | None = None
    type: str | None = None
    state: str | None = None
    text: str = ""

    @property
    def any(self) -> bool:
        return bool(self.topic or self.type or self.state or self.text.strip())

    def cycled(self, field: Literal["topic", "type", "state"], options: Sequence[str]) -> Filters:
        """The filter with `field` moved to its next option: any, then each option, then any."""
        if field == "topic":
            return replace(self, topic=following(self.topic, options))
        if field == "type":
            return replace(self, type=following(self.type, options))
        return replace(self, state=following(self.state, options))


def following(current: str | None, options: Sequence[str]) -> str | None:
    """The option after `current` (None, for any, comes before the first and after the last)."""
    if current is None or current not in options:
        return options[0] if options else None
    index = list(options).index(current) + 1
    return options[index] if index < len(options) else None


def in_state(facts: Facts, state: str, now: datetime) -> bool:
    if state == "new":
        return facts.state == "new"
    if state == "due":
        due = facts.due
        return facts.state != "new" and due is not None and due <= now and not facts.leech
    if state == "wrong":
        return facts.state == "wrong"
    return state == "leech" and facts.leech


def matches_text(question: Question, text: str, language: str | None) -> bool:
    words = text.casefold().split()
    if not words:
        return True
    haystack = " ".join(
        (
            question.id,
            question.title.get(language),
            question.topic,
            question.prompt.get(language),
        )
    ).casefold()
    return all(word in haystack for word in words)


def browse(
    questions: Sequence[Question],
    facts: Callable[[str], Facts],
    filters: Filters,
    now: datetime,
    language: str | None = None,
) -> list[Question]:
    """The questions the filters let through, in bank order."""
    return [
        q
        for q in questions
        if (filters.topic is None or q.topic == filters.topic)
        and (filters.type is None or q.type == filters.type)
        and (filters.state is None or in_state(facts(q.id), filters.state, now))
        and matches_text(q, filters.text, language)
    ]
