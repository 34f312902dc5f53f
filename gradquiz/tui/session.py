"""What the learner did in this run of the app: answers and experiment results. No textual.

Saved progress lives in gradquiz.progress; `saved` holds what it says of earlier runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gradquiz.grading import Response, Verdict
    from gradquiz.lab.protocol import VariantResult

State = Literal["new", "right", "wrong"]


@dataclass
class Answered:
    """A submitted answer; `verdict` is None until the runs it needs have arrived."""

    response: Response
    verdict: Verdict | None = None
    seconds: float = 0.0
    hints: int = 0
    # Written to the progress store once, when the verdict is first known.
    recorded: bool = False


@dataclass
class Session:
    answers: dict[str, Answered] = field(default_factory=dict)
    # Each question's runs by variant; an order question's "yours" is the last arrangement run.
    results: dict[str, dict[str, VariantResult]] = field(default_factory=dict)
    arrangements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # How many batches of runs are in flight per question (a re-run may overlap the first run).
    running: dict[str, int] = field(default_factory=dict)
    # Each question's last result in earlier runs of gradquiz.
    saved: dict[str, State] = field(default_factory=dict)

    def started(self, question_id: str) -> None:
        self.running[question_id] = self.running.get(question_id, 0) + 1

    def finished(self, question_id: str) -> None:
        left = self.running.get(question_id, 0) - 1
        if left > 0:
            self.running[question_id] = left
        else:
            self.running.pop(question_id, None)

    def is_running(self, question_id: str) -> bool:
        return question_id in self.running

    def state(self, question_id: str) -> State:
        answered = self.answers.get(question_id)
        if answered is None or answered.verdict is None:
            return self.saved.get(question_id, "new")
        return "right" if answered.verdict.correct else "wrong"
