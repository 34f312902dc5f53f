"""A question on the screen: where it sits, its text, the answer widget, hints and the lab.

It draws what the quiz model says (`gradquiz.quiz`) and never changes it: an answer given is
posted up as `AnswerGiven`, and the app has the view draw the verdict once the model has it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Input, Static

from gradquiz.classroom.session import editing_allowed
from gradquiz.display import one_line, plural
from gradquiz.format.model import MAIN
from gradquiz.i18n import N_, _
from gradquiz.tui.messages import AnswerGiven
from gradquiz.tui.widgets.answers import (
    ChoiceAnswer,
    Incomplete,
    NumericAnswer,
    OrderAnswer,
    TraceAnswer,
)
from gradquiz.tui.widgets.prose import Prose

if TYPE_CHECKING:
    from gradquiz.format.model import Question
    from gradquiz.quiz import Answered, Quiz
    from gradquiz.tui.widgets.lab import LabPanel

AnswerWidget = ChoiceAnswer | NumericAnswer | OrderAnswer | TraceAnswer

STATE_MARKS = {"new": N_("· new"), "right": N_("✓ right"), "wrong": N_("✗ wrong")}


def answer_widget(question: Question, language: str | None) -> AnswerWidget:
    if question.type == "numeric":
        return NumericAnswer()
    if question.type == "order":
        return OrderAnswer(question)
    if question.type == "trace":
        return TraceAnswer(question)
    return ChoiceAnswer(question, language)


class QuestionView(VerticalScroll):
    """A question: where it sits, its text, the answer widget, hints and, once answered, the lab.

    `quiz` is read, never written; `trusted`, `why_untrusted` and `complete` are set by the
    screen that owns the view.
    """

    def __init__(
        self,
        question: Question,
        quiz: Quiz,
        language: str | None,
        *,
        trusted: bool,
        why_untrusted: str = "",
        complete: bool = True,
    ) -> None:
        super().__init__(id="question-view")
        self.question = question
        self.quiz = quiz
        self.language = language
        self.trusted = trusted
        self.why_untrusted = why_untrusted
        self.complete = complete
        self.hints_shown = 0
        self.shown_at = time.monotonic()
        # The lab is drawn from several places (the runs coming back, the answer, trust):
        # one at a time, or one finds the panel another is still mounting.
        self.drawing = asyncio.Lock()
        # Set, under that lock, by the screen taking the view down: nothing more is drawn.
        self.retired = False

    def compose(self) -> ComposeResult:
        yield Static(self.where(), id="where")
        yield Prose(self.question.title.get(self.language), id="title")
        yield Prose(self.question.prompt.get(self.language), id="prompt")
        if not self.trusted and self.question.experiment is not None:
            yield Static(
                _(
                    "Not trusted: code not run. This pack was not named on the command line, so "
                    "its code is shown but nothing runs. Press T to trust it."
                ),
                id="untrusted",
            )
        looking = self.closer_look()
        if looking is not None:
            yield Static(looking, id="closer-look")
        yield answer_widget(self.question, self.language)
        yield Static(id="problem")
        # The hints are mounted with the first hint (one widget less to draw at first), or
        # all at once for a closer look at a leech.
        if looking is not None and self.question.hints:
            self.hints_shown = len(self.question.hints)
            yield Prose(self.hints_text(), id="hints")
        yield Static(self.status(), id="lab-status")

    async def on_mount(self) -> None:
        answer = self.query_one("#answer")
        if self.answered is None:
            if isinstance(answer, NumericAnswer):
                answer.query_one(Input).focus()
            elif isinstance(answer, OrderAnswer):
                answer.focus()
            elif isinstance(answer, TraceAnswer) and self.question.blanks:
                answer.query_one("#blank-0").focus()
        await self.redraw()

    @property
    def answered(self) -> Answered | None:
        return self.quiz.answered(self.question)

    def closer_look(self) -> RichText | None:
        """For a leech about to be answered: why it is here and what helps. A right answer
        clears it (`progress.leech`)."""
        if self.answered is not None or not self.quiz.is_leech(self.question.id):
            return None
        # Here, not at the top: a leech is only known once progress is open, after the
        # first paint.
        from gradquiz.progress.leech import LEECH_MISSES

        hints = (
            _("every hint is shown below")
            if self.question.hints
            else _("this question has no hints")
        )
        parts = [
            _("⚑ Leech: missed {misses} times, so it left your drills.").format(
                misses=LEECH_MISSES
            ),
            _("Take a closer look: {hints}.").format(hints=hints),
        ]
        if editing_allowed():  # served to a class without --allow-editing, `o` does nothing
            parts.append(_("o opens its experiment in the playground to try it out."))
        parts.append(_("Answer it right and it comes back to your drills."))
        return RichText(" ".join(parts))

    def where(self) -> RichText:
        question = self.question
        state = _(STATE_MARKS[self.quiz.state(question.id)])
        position = self.quiz.where(question, complete=self.complete)
        pack, topic = one_line(question.pack.name_in(self.language)), one_line(question.topic)
        flag = _(" · ⚑ leech") if self.quiz.is_leech(question.id) else ""
        return RichText(f"{pack} · {topic} · {position} {state}{flag}")

    def update_where(self) -> None:
        self.query_one("#where", Static).update(self.where())
        answered = self.answered
        if answered is None or answered.verdict is None:
            return
        # Saved now, the schedule knows when the question comes back: the verdict says.
        from gradquiz.tui.widgets.lab import LabPanel

        for panel in self.query(LabPanel):
            panel.show_verdict(self.verdict_text(), answered.verdict.correct)

    def update_status(self) -> None:
        self.query_one("#lab-status", Static).update(self.status())

    def status(self) -> RichText:
        """Before answering: whether the experiment is ready, so the wait is never a mystery."""
        quiz, question = self.quiz, self.question
        results = quiz.results(question.id)
        kept = quiz.kept(question.id)
        if question.experiment is None:
            text = _("No experiment for this question.")
        elif not self.trusted:
            text = _("Experiment: not trusted: code not run.")
        elif kept is not None:
            # The date as kept (UTC): the day of the run, not the time zone it was read in.
            if not quiz.kept_stood(question.id):
                label = _(
                    "Experiment: kept result · torch {torch} · {date}; a fresh run is on its way…"
                )
            else:
                label = _(
                    "Experiment: kept result · torch {torch} · {date}; the fresh run did not "
                    "finish."
                )
            text = label.format(torch=kept.torch_release, date=kept.saved[:10])
        elif quiz.running(question.id):
            text = _("Experiment: running in the lab…")
        elif results:
            text = plural(
                len(results),
                "Experiment: ready ({n} variant).",
                "Experiment: ready ({n} variants).",
            )
        else:
            text = _("Experiment: waiting for the lab…")
        return RichText(text)

    async def show_hint(self) -> bool:
        """The next hint; False when there is none left to show."""
        hints = self.question.hints
        if self.hints_shown >= len(hints):
            return False
        self.hints_shown += 1
        text = self.hints_text()
        try:
            self.query_one("#hints", Prose).set_source(text)
        except NoMatches:
            await self.mount(Prose(text, id="hints"), before="#lab-status")
        return True

    def hints_text(self) -> str:
        hints = self.question.hints
        return "\n\n".join(
            _("**Hint {n}/{count}.** {hint}").format(
                n=n, count=len(hints), hint=h.get(self.language)
            )
            for n, h in enumerate(hints[: self.hints_shown], 1)
        )

    def answer(self) -> AnswerWidget:
        return cast(AnswerWidget, self.query_one("#answer"))

    def ready_to_submit(self) -> bool:
        try:
            self.answer().response()
        except Incomplete:
            return False
        return self.answered is None

    def submit(self) -> None:
        """Post the answer up, or say (in sight) why it cannot be submitted yet."""
        if self.answered is not None:
            return
        problem = self.query_one("#problem", Static)
        try:
            response = self.answer().response()
        except Incomplete as exc:
            problem.update(RichText(str(exc)))
            problem.add_class("-shown")
            # At 80x24 the line under the choices can sit below the fold.
            self.call_after_refresh(problem.scroll_visible, animate=False)
            return
        problem.update("")
        problem.remove_class("-shown")
        seconds = time.monotonic() - self.shown_at
        self.app.post_message(AnswerGiven(self.question.id, response, seconds, self.hints_shown))

    async def answer_taken(self) -> None:
        """The model holds the answer now: show the lab, verdict first."""
        with self.app.batch_update():
            await self.redraw()
        # The footer (Submit now greyed) follows the tables by a frame: they come first.
        self.call_after_refresh(self.screen.refresh_bindings)
        self.call_after_refresh(self.reveal_verdict)

    def reveal_verdict(self) -> None:
        """On a short terminal the verdict can land below the fold: then it scrolls to the top,
        with the tables under it. Where it is in sight already, nothing moves."""
        try:
            verdict = self.query_one("#verdict")
            shown = self.screen.query_one("#body").region
        except NoMatches:
            return  # the learner moved on before this frame: the view is being taken down
        if not verdict.region or not shown.contains_region(verdict.region):
            verdict.scroll_visible(top=True, animate=False)

    def lab(self) -> LabPanel | None:
        """The lab, if it is drawn (for the screen's lab keys)."""
        for child in self.children:
            if child.id == "lab":
                return cast("LabPanel", child)
        return None

    async def lab_panel(self) -> LabPanel:
        # Imported on first use: tables and plots are not needed for the first paint.
        from gradquiz.tui.widgets.lab import LabPanel

        try:
            return self.query_one(LabPanel)
        except NoMatches:
            from gradquiz.format.params import in_written_order

            # Shown once answered: variants in the order written, as the choices then are.
            panel = LabPanel(in_written_order(self.question), self.language)
            await self.mount(panel)
            return panel

    async def prepare_lab(self) -> None:
        """Draw the tables out of sight as soon as the runs are back, so Enter only reveals
        them: the learner reads the question meanwhile."""
        results = self.quiz.results(self.question.id)
        answer = self.answer()
        if isinstance(answer, TraceAnswer) and MAIN in results:
            answer.show_table(results[MAIN])
        if self.answered is not None:
            return
        if not self.trusted and self.question.experiment is not None:
            # Nothing runs: the code is there to read while answering.
            panel = await self.lab_panel()
            await panel.show_code_to_read(
                _("The code each variant would run (nothing runs until the pack is trusted):")
            )
        elif results:
            panel = await self.lab_panel()
            # Inline, not a class: showing it then costs a layout, not a restyle of every table.
            panel.display = False
            await self.mount_explanation(panel)
            await self.show_tables(panel)
        elif (lab := self.lab()) is not None:
            # Trusted while reading the code: it goes until the runs are back and answered.
            lab.display = False

    async def show_lab(self) -> None:
        """Mount (or update) the lab: verdict, feedback, explanation, then tables or why not."""
        answered = self.answered
        if answered is None:
            return
        answer = self.answer()
        answer.disabled = True
        if isinstance(answer, ChoiceAnswer):
            answer.picked = self.picked_indexes(answer, answered)
            answer.name_by_id()
        elif isinstance(answer, TraceAnswer):
            answer.show_answer(answered.response, self.quiz.results(self.question.id).get(MAIN))
        panel = await self.lab_panel()
        await self.mount_explanation(panel)
        # Choices that ran show their feedback with their own variant, in the lab.
        if not panel.has_feedback and not self.question.has_choice_variants:
            panel.has_feedback = True
            await self.mount_all(self.feedback(answered), after=panel.query_one("#verdict"))
        panel.display = True
        verdict = answered.verdict
        self.update_where()
        if verdict is None:
            note = (
                _("Running your answer in the lab…")
                if self.trusted
                else _("Not trusted: code not run, so this answer cannot be checked (T trusts it).")
            )
            panel.show_verdict(note, None)
        else:
            panel.show_verdict(self.verdict_text(), verdict.correct)
        response = answered.response
        await panel.set_answer(response, response if isinstance(response, tuple) else None)
        await self.show_tables(panel)

    def verdict_text(self) -> str:
        """The verdict, and once the answer is saved when its question comes back."""
        answered = self.answered
        if answered is None or answered.verdict is None:
            return ""
        verdict = answered.verdict
        mark = _("✓ Right.") if verdict.correct else _("✗ Not quite.")
        # TRANSLATORS: the verdict: "✓ Right." or "✗ Not quite.", then why.
        text = _("{mark} {detail}").format(mark=mark, detail=verdict.detail)
        question = self.question
        if [c.id for c in question.choices] != [c.id for c in question.original.choices]:
            # The choices moved back to the order written once answered: the pick's letter
            # is not the one it had on the screen a moment ago, so say which it is now.
            picked = sorted(self.picked_ids(answered.response))
            # A right pick is the answer the verdict names: said once is enough.
            if picked and not verdict.correct:
                you = _("You picked {ids}.").format(ids=", ".join(picked))
                text = _("{mark} {detail}").format(mark=mark, detail=f"{you} {verdict.detail}")
        comes_back = self.quiz.next_review(self.question.id, datetime.now(UTC))
        if comes_back is not None:
            text = _("{verdict} Next review {when}.").format(verdict=text, when=comes_back)
        note = self.quiz.leech_note(self.question.id, playground=editing_allowed())
        return text if note is None else f"{text} {note}"

    def picked_indexes(self, answer: ChoiceAnswer, answered: Answered) -> frozenset[int]:
        """The choices of the stored answer, so a revisited question shows what was picked."""
        response = answered.response
        if isinstance(response, bool):
            ids = {"true" if response else "false"}
        elif isinstance(response, str):
            ids = {response}
        elif isinstance(response, frozenset):
            ids = set(response)
        else:
            ids = set()
        return frozenset(
            i for i, (choice_id, _text) in enumerate(answer.options) if choice_id in ids
        )

    @staticmethod
    def picked_ids(response: object) -> set[str]:
        """The choice ids a single or multiple answer picked."""
        if isinstance(response, str):
            return {response}
        if isinstance(response, frozenset):
            return {str(choice) for choice in response}
        return set()

    def feedback(self, answered: Answered) -> list[Widget]:
        """The feedback of each picked choice."""
        picked = self.picked_ids(answered.response)
        return [
            Prose(f"**{choice.id}:** {choice.feedback.get(self.language)}", classes="feedback")
            for choice in self.question.choices
            if choice.id in picked and choice.feedback is not None
        ]

    async def mount_explanation(self, panel: LabPanel) -> None:
        explanation = self.question.explanation
        if explanation is not None and not panel.has_explanation:
            panel.has_explanation = True
            widget = Prose(explanation.get(self.language), classes="explanation")
            await self.mount(widget, after=panel.query_one("#verdict"))

    async def show_tables(self, panel: LabPanel) -> None:
        quiz, question = self.quiz, self.question
        results = quiz.results(question.id)
        if question.experiment is None:
            await panel.show_note(_("This question has no experiment."))
        elif not self.trusted:
            await panel.show_code(
                _(
                    "Not trusted: code not run. {why}; press T to trust it. The code it would run:"
                ).format(why=one_line(self.why_untrusted))
            )
        elif not results or (quiz.running(question.id) and quiz.kept(question.id) is None):
            await panel.show_note(_("The experiment is running in the lab…"), loading=True)
        else:
            # The runs come back in the order the attempt showed its choices; the lab, drawn
            # for the answered question, lists them as written (the rest, unranked, after).
            written = {c.id: n for n, c in enumerate(panel.question.choices)}
            ordered = sorted(results.items(), key=lambda item: written.get(item[0], len(written)))
            await panel.show_results(dict(ordered))

    async def trust_given(self) -> None:
        """The pack is trusted now: drop the warning and show what runs."""
        self.trusted = True
        if not self.retired:
            await self.query("#untrusted").remove()
        await self.runs_changed()

    async def runs_changed(self) -> None:
        if not self.retired:
            self.update_status()
        await self.redraw()

    async def redraw(self) -> None:
        """The lab as the model has it now: shown once answered, else drawn out of sight."""
        async with self.drawing:
            if self.retired:
                return
            if self.answered is not None:
                await self.show_lab()
            else:
                await self.prepare_lab()
