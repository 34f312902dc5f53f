"""The quiz screen: one question at a time, how to answer it, and the lab once answered."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text as RichText
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Input, Static

from gradquiz.format.model import Question
from gradquiz.trust import TrustNotSaved
from gradquiz.tui.session import Answered
from gradquiz.tui.widgets.answers import (
    ChoiceAnswer,
    Incomplete,
    NumericAnswer,
    OrderAnswer,
)
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.prose import Prose

if TYPE_CHECKING:
    from gradquiz.grading import Verdict
    from gradquiz.tui.app import GradquizApp
    from gradquiz.tui.widgets.lab import LabPanel

# Below this the question and its lab cannot be laid out; the screen says so instead.
MIN_WIDTH, MIN_HEIGHT = 60, 20

AnswerWidget = ChoiceAnswer | NumericAnswer | OrderAnswer

STATE_MARKS = {"new": "· new", "right": "✓ right", "wrong": "✗ wrong"}


def answer_widget(question: Question, language: str | None) -> AnswerWidget:
    if question.type == "numeric":
        return NumericAnswer()
    if question.type == "order":
        return OrderAnswer(question)
    return ChoiceAnswer(question, language)


class QuestionView(VerticalScroll):
    """A question: where it sits, its text, the answer widget, hints and, once answered, the lab."""

    def __init__(self, question: Question, index: int) -> None:
        super().__init__(id="question-view")
        self.question = question
        self.index = index
        self.hints_shown = 0
        self.shown_at = time.monotonic()

    @property
    def quiz(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        language = self.quiz.language
        yield Static(self.where(), id="where")
        yield Prose(self.question.title.get(language), id="title")
        yield Prose(self.question.prompt.get(language), id="prompt")
        if not self.quiz.trusted(self.question):
            yield Static(
                "Not trusted: code not run. This pack was not named on the command line, so "
                "its code is shown but nothing runs. Press T to trust it.",
                id="untrusted",
            )
        yield answer_widget(self.question, language)
        yield Static(id="problem")
        # The hints are mounted with the first hint: one widget less to draw at first.
        yield Static(self.status(), id="lab-status")

    async def on_mount(self) -> None:
        answer = self.query_one("#answer")
        if isinstance(answer, NumericAnswer):
            answer.query_one(Input).focus()
        elif isinstance(answer, OrderAnswer):
            answer.focus()
        if self.question.id in self.quiz.session.answers:
            await self.show_lab()
        else:
            await self.prepare_lab()

    @property
    def answered(self) -> Answered | None:
        return self.quiz.session.answers.get(self.question.id)

    def where(self) -> RichText:
        quiz = self.quiz
        state = STATE_MARKS[quiz.session.state(self.question.id)]
        if quiz.drilling:
            position = f"drill {self.index + 1}/{len(quiz.questions)}"
        else:
            # Until every file is read (just after the first paint), the count is not known.
            total = len(quiz.questions) if quiz.library.complete else "…"
            position = f"{self.index + 1}/{total}"
        return RichText(f"{self.question.pack.name} · {self.question.topic} · {position} {state}")

    def update_where(self) -> None:
        self.query_one("#where", Static).update(self.where())

    def update_status(self) -> None:
        self.query_one("#lab-status", Static).update(self.status())

    def status(self) -> RichText:
        """Before answering: whether the experiment is ready, so the wait is never a mystery."""
        session, question = self.quiz.session, self.question
        if question.experiment is None:
            text = "No experiment for this question."
        elif not self.quiz.trusted(question):
            text = "Experiment: not trusted: code not run."
        elif session.is_running(question.id):
            text = "Experiment: running in the lab…"
        elif question.id in session.results:
            text = f"Experiment: ready ({len(session.results[question.id])} variant(s))."
        else:
            text = "Experiment: waiting for the lab…"
        return RichText(text)

    async def show_hint(self) -> None:
        language = self.quiz.language
        self.hints_shown = min(self.hints_shown + 1, len(self.question.hints))
        shown = self.question.hints[: self.hints_shown]
        text = "\n\n".join(
            f"**Hint {n}/{len(self.question.hints)}.** {h.get(language)}"
            for n, h in enumerate(shown, 1)
        )
        try:
            self.query_one("#hints", Prose).set_source(text)
        except NoMatches:
            await self.mount(Prose(text, id="hints"), before="#lab-status")

    def answer(self) -> AnswerWidget:
        return cast(AnswerWidget, self.query_one("#answer"))

    async def submit(self) -> None:
        if self.answered is not None:
            return
        problem = self.query_one("#problem", Static)
        try:
            response = self.answer().response()
        except Incomplete as exc:
            problem.update(RichText(str(exc)))
            problem.add_class("-shown")
            return
        problem.update("")
        problem.remove_class("-shown")
        self.quiz.session.answers[self.question.id] = Answered(
            response, seconds=time.monotonic() - self.shown_at, hints=self.hints_shown
        )
        if isinstance(response, tuple):
            self.quiz.run_experiment(self.question, arrangement=response)
        with self.app.batch_update():
            await self.show_lab()
        # The footer (Submit now greyed) follows the tables by a frame: they come first.
        self.call_after_refresh(self.screen.refresh_bindings)
        self.call_after_refresh(self.reveal_verdict)

    def reveal_verdict(self) -> None:
        """On a short terminal the verdict can land below the fold: then it scrolls to the top,
        with the tables under it. Where it is in sight already, nothing moves."""
        verdict = self.query_one("#verdict")
        shown = self.screen.query_one("#body").region
        if not verdict.region or not shown.contains_region(verdict.region):
            verdict.scroll_visible(top=True, animate=False)

    def verdict(self) -> Verdict | None:
        """Grade once the runs the answer needs are here (choices need none)."""
        answered = self.answered
        if answered is None:
            return None
        if answered.verdict is None:
            results = self.quiz.session.results.get(self.question.id, {})
            kind = self.question.type
            ready = kind in ("single", "multiple", "truefalse")
            if kind == "numeric":
                ready = "main" in results
            if kind == "order":
                ready = self.quiz.session.arrangements.get(self.question.id) == answered.response
            if ready:
                from gradquiz.grading import grade

                answered.verdict = grade(self.question, answered.response, results)
        self.quiz.record(self.question, answered)
        return answered.verdict

    async def lab_panel(self) -> LabPanel:
        # Imported on first use: tables and plots are not needed for the first paint.
        from gradquiz.tui.widgets.lab import LabPanel

        try:
            return self.query_one(LabPanel)
        except NoMatches:
            panel = LabPanel(self.question)
            await self.mount(panel)
            return panel

    async def prepare_lab(self) -> None:
        """Draw the tables out of sight as soon as the runs are back, so Enter only reveals
        them: the learner reads the question meanwhile."""
        if self.answered is None and self.question.id in self.quiz.session.results:
            panel = await self.lab_panel()
            # Inline, not a class: showing it then costs a layout, not a restyle of every table.
            panel.display = False
            await self.mount_explanation(panel)
            await self.show_tables(panel)

    async def show_lab(self) -> None:
        """Mount (or update) the lab: verdict, feedback, explanation, then tables or why not."""
        answer = self.answer()
        answer.disabled = True
        if isinstance(answer, ChoiceAnswer):
            answer.picked = self.picked_indexes(answer)
        panel = await self.lab_panel()
        await self.mount_explanation(panel)
        if not panel.has_feedback:
            panel.has_feedback = True
            await self.mount_all(self.feedback(), after=panel.query_one("#verdict"))
        panel.display = True
        verdict = self.verdict()
        self.update_where()
        if verdict is None:
            waiting = self.quiz.can_run(self.question)
            note = (
                "Running your answer in the lab…"
                if waiting
                else "Not trusted: code not run, so this answer cannot be checked (T trusts it)."
            )
            panel.show_verdict(note, None)
        else:
            mark = "✓ Right." if verdict.correct else "✗ Not quite."
            panel.show_verdict(f"{mark} {verdict.detail}", verdict.correct)
        await self.show_tables(panel)

    def picked_indexes(self, answer: ChoiceAnswer) -> frozenset[int]:
        """The choices of the stored answer, so a revisited question shows what was picked."""
        answered = self.answered
        if answered is None:
            return answer.picked
        response = answered.response
        if isinstance(response, bool):
            ids = {"true" if response else "false"}
        elif isinstance(response, str):
            ids = {response}
        elif isinstance(response, frozenset):
            ids = set(response)
        else:
            ids = set()
        return frozenset(i for i, (choice_id, _) in enumerate(answer.options) if choice_id in ids)

    def feedback(self) -> list[Widget]:
        """The feedback of each picked choice."""
        language = self.quiz.language
        answered = self.answered
        response = answered.response if answered else None
        picked = (
            {response}
            if isinstance(response, str)
            else set(response or ())
            if isinstance(response, frozenset)
            else set()
        )
        return [
            Prose(f"**{choice.id}:** {choice.feedback.get(language)}", classes="feedback")
            for choice in self.question.choices
            if choice.id in picked and choice.feedback is not None
        ]

    async def mount_explanation(self, panel: LabPanel) -> None:
        explanation = self.question.explanation
        if explanation is not None and not panel.has_explanation:
            panel.has_explanation = True
            widget = Prose(explanation.get(self.quiz.language), classes="explanation")
            await self.mount(widget, after=panel.query_one("#verdict"))

    async def show_tables(self, panel: LabPanel) -> None:
        session, question = self.quiz.session, self.question
        results = session.results.get(question.id)
        if question.experiment is None:
            await panel.show_note("This question has no experiment.")
        elif not self.quiz.trusted(question):
            why = self.quiz.trust_policy.why_not(question.pack)
            await panel.show_note(f"Not trusted: code not run. {why}; press T to trust it.")
        elif session.is_running(question.id) or not results:
            await panel.show_note("The experiment is running in the lab…", loading=True)
        else:
            await panel.show_results(results)

    async def trust_given(self, submitting: bool) -> None:
        """The pack is trusted now: drop the warning and start the runs the question needs."""
        await self.query("#untrusted").remove()
        # An order answer about to be submitted runs with its arrangement: not twice.
        if not (submitting and self.question.type == "order"):
            self.quiz.run_experiment(self.question)
        self.update_status()
        if self.answered is not None:
            await self.show_lab()

    def ready_to_submit(self) -> bool:
        try:
            self.answer().response()
        except Incomplete:
            return False
        return self.answered is None

    async def experiment_finished(self) -> None:
        self.update_status()
        if self.answered is not None:
            await self.show_lab()
        else:
            await self.prepare_lab()


class QuizScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Submit", id="submit"),
        Binding("1", "pick(1)", "Pick", key_display="1-9", id="pick.1"),
        *[
            Binding(str(n), f"pick({n})", f"Pick {n}", show=False, id=f"pick.{n}")
            for n in range(2, 10)
        ],
        Binding("t", "truth(True)", "True", id="true"),
        Binding("f", "truth(False)", "False", id="false"),
        # Shown only for a pack not yet trusted; early, so a narrow footer keeps its words.
        Binding("T", "trust", "Trust pack", id="trust", priority=True),
        Binding("h", "hint", "Hint", id="hint", priority=True),
        Binding("n", "move(1)", "Next", id="next", priority=True),
        Binding("p", "move(-1)", "Previous", id="previous", priority=True),
        Binding("r", "rerun", "Re-run", id="rerun", priority=True),
        Binding("l", "list", "Questions", id="list", priority=True),
        # Not `d`: an order question's lines move down with it.
        Binding("g", "drill", "Drill", id="drill", priority=True),
        Binding(
            "m", "drill(True)", "Drill mistakes", show=False, id="drill.mistakes", priority=True
        ),
        Binding("x", "skip", "Skip for today", show=False, id="skip", priority=True),
        Binding("s", "stats", "Stats", show=False, id="stats", priority=True),
        Binding("question_mark", "help", "Keys", id="help", priority=True),
    ]

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self._view: QuestionView | None = None
        # Packs the learner said no to: submitting does not ask again; T still does.
        self.declined: set[str] = set()

    @property
    def quiz(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="too-small")
        # Empty until mounted: composed with the screen, the question would be restyled once
        # more when the screen is first shown.
        yield VerticalScroll(id="body")
        yield KeyBar()

    async def on_mount(self) -> None:
        await self.show(self.index)
        for notice in self.quiz.trust_policy.notices():
            self.notify(
                notice, title="gradquiz carries on", severity="warning", timeout=20, markup=False
            )

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {width}×{height}; gradquiz needs at least "
                f"{MIN_WIDTH}×{MIN_HEIGHT}. Make it bigger, or press ctrl+q to quit."
            )

    @property
    def question(self) -> Question | None:
        questions = self.quiz.questions
        return questions[self.index] if questions else None

    def view(self) -> QuestionView | None:
        # Kept, not queried: check_action asks for it on every binding refresh.
        return self._view

    async def show(self, index: int) -> None:
        if not 0 <= index < len(self.quiz.questions):
            await self.quiz.whole_library()  # past the files read so far: wait for the rest
        body = self.query_one("#body", VerticalScroll)
        # A redraw of the question leaving must not reach into widgets being removed.
        self.workers.cancel_group(self, "redraw")
        self._view = None
        await body.remove_children()
        await body.mount(self.content(index))
        self.shown()

    def content(self, index: int) -> Widget:
        """The question at `index`, its runs asked for; or why there is none."""
        questions = self.quiz.questions
        if not questions:
            return Prose(
                "No questions are loaded. Add packs with `--questions PATH`, "
                "or drop `--no-bundled`."
            )
        self.index = index % len(questions)
        question = questions[self.index]
        self.quiz.run_experiment(question)
        self._view = QuestionView(question, self.index)
        return self._view

    def shown(self) -> None:
        self.refresh_bindings()
        self.call_after_refresh(self.quiz.question_shown)

    def library_loaded(self) -> None:
        view = self.view()
        if view is not None:
            view.update_where()

    def experiment_finished(self, question_id: str) -> None:
        view = self.view()
        if view is not None and view.question.id == question_id:
            self.run_worker(view.experiment_finished(), group="redraw")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        question, view = self.question, self.view()
        if question is None or view is None:
            return action in ("help", "list") or None
        answered = view.answered is not None
        if action == "pick":
            if question.type not in ("single", "multiple", "truefalse"):
                return False
            count = 2 if question.type == "truefalse" else len(question.choices)
            number = parameters[0] if parameters else 1
            if not isinstance(number, int) or number > count:
                return False
            return None if answered else True
        if action == "truth":
            if question.type != "truefalse":
                return False
            return None if answered else True
        if action == "submit":
            return None if answered else True
        if action == "hint":
            return True if view.hints_shown < len(question.hints) else None
        if action == "rerun":
            return True if self.quiz.can_run(question) else None
        if action == "trust":
            return question.experiment is not None and not self.quiz.trusted(question)
        return True

    def action_pick(self, number: int) -> None:
        view = self.view()
        if view is not None:
            answer = view.answer()
            if isinstance(answer, ChoiceAnswer):
                answer.pick(number - 1)

    def action_truth(self, value: bool) -> None:
        self.action_pick(1 if value else 2)

    async def action_submit(self) -> None:
        view = self.view()
        if view is None:
            return
        question = view.question
        if (
            question.experiment is not None
            and not self.quiz.trusted(question)
            and question.pack.file not in self.declined
            and view.ready_to_submit()
        ):
            self.ask_trust(view, submitting=True)
        else:
            await view.submit()

    def action_trust(self) -> None:
        view = self.view()
        if view is not None and not self.quiz.trusted(view.question):
            self.ask_trust(view, submitting=False)

    def ask_trust(self, view: QuestionView, submitting: bool) -> None:
        from gradquiz.tui.screens.dialogs import TrustDialog

        policy, pack = self.quiz.trust_policy, view.question.pack

        async def decided(trust: bool | None) -> None:
            if trust:
                try:
                    policy.trust(pack)
                except TrustNotSaved as exc:
                    self.notify(
                        f"{exc}. Trusted until gradquiz quits.",
                        severity="warning",
                        timeout=15,
                        markup=False,
                    )
                self.declined.discard(pack.file)
                if self.view() is view:
                    await view.trust_given(submitting)
            else:
                self.declined.add(pack.file)
            if submitting and self.view() is view:
                await view.submit()
            self.refresh_bindings()

        self.app.push_screen(TrustDialog(policy.summary(pack), policy.why_not(pack)), decided)

    @on(NumericAnswer.Submitted)
    async def numeric_submitted(self) -> None:
        await self.action_submit()

    async def action_hint(self) -> None:
        view = self.view()
        if view is not None:
            await view.show_hint()
            self.refresh_bindings()

    async def action_move(self, delta: int) -> None:
        target = self.index + delta
        if self.quiz.drilling and not 0 <= target < len(self.quiz.questions):
            done = sum(1 for q in self.quiz.questions if q.id in self.quiz.session.answers)
            self.quiz.leave_drill()
            self.notify(f"Drill over: {done} of the drill's questions answered.")
            target = self.index
        await self.show(target)

    async def action_drill(self, mistakes: bool = False) -> None:
        await self.quiz.whole_library()  # a drill chooses among every question
        self.quiz.start_drill(mistakes)

    async def action_skip(self) -> None:
        question = self.question
        if question is None:
            return
        self.quiz.skip(question)
        self.notify(f"Skipped for today: {question.title.get(self.quiz.language)}")
        if self.quiz.drilling and len(self.quiz.questions) > 1:
            self.quiz.questions.remove(question)
            await self.show(min(self.index, len(self.quiz.questions) - 1))
            return
        if self.quiz.drilling:
            self.quiz.leave_drill(at=question)
            self.notify("Drill over: nothing left for today.")
        await self.show(self.index + 1)

    async def action_stats(self) -> None:
        from gradquiz.tui.screens.stats import StatsScreen

        await self.quiz.whole_library()
        self.app.push_screen(StatsScreen())

    async def action_rerun(self) -> None:
        view = self.view()
        if view is None:
            return
        question = view.question
        answered = view.answered
        arrangement = None
        if answered is not None and isinstance(answered.response, tuple):
            # The learner's arrangement is part of the experiment: run it again too.
            arrangement = answered.response
            self.quiz.session.arrangements.pop(question.id, None)
            answered.verdict = None
        self.quiz.run_experiment(question, arrangement, again=True)
        view.update_status()
        if answered is not None:
            await view.show_lab()

    async def action_list(self) -> None:
        await self.quiz.whole_library()

        def chosen(question_id: str | None) -> None:
            if question_id is not None:
                self.quiz.jump(question_id)

        from gradquiz.tui.screens.question_list import QuestionListScreen

        self.app.push_screen(QuestionListScreen(), chosen)

    def action_help(self) -> None:
        from gradquiz.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
