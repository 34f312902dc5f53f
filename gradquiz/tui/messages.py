"""What the screens ask the app for. Screens never change the quiz themselves: they post one of
these to the app (straight to it: a message bubbling from a screen stops at the screen when the
screen created it), and the app changes the model and has the screens draw it again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from gradquiz.grading import Response


@dataclass
class AnswerGiven(Message):
    question: str
    response: Response
    seconds: float
    hints: int


@dataclass
class MoveAsked(Message):
    """`n` or `p`: one question on (or back) in the walk."""

    delta: int


@dataclass
class JumpAsked(Message):
    question: str


@dataclass
class DrillAsked(Message):
    mistakes: bool = False


@dataclass
class CloserLookAsked(Message):
    """`k` on a leech: answer it afresh, with every hint and the playground at hand."""

    question: str


@dataclass
class SkipAsked(Message):
    question: str


@dataclass
class RerunAsked(Message):
    question: str


@dataclass
class TrustGiven(Message):
    """The learner trusted the question's pack; `submitting`: an answer is about to follow."""

    question: str
    submitting: bool


@dataclass
class ResetAsked(Message):
    """Forget the history of these questions; None: of every question."""

    questions: tuple[str, ...] | None


@dataclass
class StreakToggled(Message):
    pass


@dataclass
class ProgressChanged(Message):
    """Sent down to the screen on top: saved progress changed (a reset, a preference)."""


@dataclass
class InTurn(Message):
    """Run `callback` once the keys pressed before have been handled. Posted to the focused
    widget, it bubbles up to the app behind those keys, queue by queue, and the app runs it."""

    callback: Callable[[], object]
