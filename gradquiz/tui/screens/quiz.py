"""The quiz screen: the question the model is at, its keys, and what the learner asks for.

It reads the app's `Quiz` and posts requests (`gradquiz.tui.messages`); the app changes the
model and calls back `show_current`, `answer_taken` or `runs_changed` to draw the result.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Static

from gradquiz.classroom.session import editing_allowed
from gradquiz.display import printable
from gradquiz.format.model import Question
from gradquiz.i18n import N_, _
from gradquiz.tui.messages import (
    CloserLookAsked,
    DrillAsked,
    InTurn,
    JumpAsked,
    MoveAsked,
    RerunAsked,
    SkipAsked,
    TrustGiven,
)
from gradquiz.tui.widgets.answers import ChoiceAnswer, ErrorPicker, NumberInput, OrderAnswer
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.graph import GraphPanel
from gradquiz.tui.widgets.prose import Prose
from gradquiz.tui.widgets.question import QuestionView

if TYPE_CHECKING:
    from gradquiz.playground import Experiment
    from gradquiz.tui.app import GradquizApp

# Below this the question and its lab cannot be laid out; the screen says so instead.
MIN_WIDTH, MIN_HEIGHT = 60, 20


class QuizScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority, like `n`: keys are then taken in the order pressed. Left to the focused
        # input, Enter would wait in its queue while a quick `n` moved on, losing the answer.
        Binding("enter", "submit", N_("Submit"), id="submit", priority=True),
        # Priority too, so a pick and the Enter after it are taken in order; the number box
        # still gets its digits (it consumes them before priority keys are looked at).
        Binding("1", "pick(1)", N_("Pick"), key_display="1-9", id="pick.1", priority=True),
        *[
            Binding(str(n), f"pick({n})", N_("Pick"), show=False, id=f"pick.{n}", priority=True)
            for n in range(2, 10)
        ],
        Binding("t", "truth(True)", N_("True"), id="true", priority=True),
        Binding("f", "truth(False)", N_("False"), id="false", priority=True),
        # Shown only for a pack not yet trusted; early, so a narrow footer keeps its words.
        Binding("T", "trust", N_("Trust pack"), id="trust", priority=True),
        # Shown only for a leech; early, so a narrow footer keeps its words.
        Binding(
            "k",
            "closer_look",
            N_("Closer look"),
            tooltip=N_("answer a leech afresh, with every hint and the playground at hand"),
            id="closer-look",
            priority=True,
        ),
        Binding("h", "hint", N_("Hint"), id="hint", priority=True),
        Binding("n", "move(1)", N_("Next"), id="next", priority=True),
        Binding("p", "move(-1)", N_("Previous"), id="previous", priority=True),
        Binding("r", "rerun", N_("Re-run"), id="rerun", priority=True),
        Binding("e", "edit", N_("Edit & run"), id="edit", priority=True),
        Binding("o", "playground", N_("Playground"), show=False, id="playground", priority=True),
        Binding("l", "list", N_("Questions"), id="list", priority=True),
        # The lab's keys, once it is shown: the variant before/after, the shared setup.
        Binding(
            "left_square_bracket",
            "variant(-1)",
            N_("Variant"),
            key_display="[ ]",
            tooltip=N_("the previous one in the lab"),
            id="variant.previous",
            priority=True,
        ),
        Binding(
            "right_square_bracket",
            "variant(1)",
            N_("Next variant"),
            show=False,
            id="variant.next",
            priority=True,
        ),
        Binding(
            "z",
            "setup",
            N_("Setup"),
            tooltip=N_("unfold or fold the shared setup code in the lab"),
            id="setup",
            priority=True,
        ),
        Binding(
            "c",
            "compare",
            N_("Column"),
            tooltip=N_("compare the next watch column across the variants"),
            show=False,
            id="compare",
            priority=True,
        ),
        Binding(
            "v",
            "graph",
            N_("Graph"),
            tooltip=N_("show or hide the autograd graph of the variant on display"),
            id="graph",
            priority=True,
        ),
        # Not `d`: an order question's lines move down with it.
        Binding("g", "drill", N_("Drill"), id="drill", priority=True),
        Binding(
            "m", "drill(True)", N_("Drill mistakes"), show=False, id="drill.mistakes", priority=True
        ),
        Binding("x", "skip", N_("Skip for today"), show=False, id="skip", priority=True),
        Binding("s", "stats", N_("Stats"), show=False, id="stats", priority=True),
        Binding("question_mark", "app.help", N_("Keys"), id="help", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._view: QuestionView | None = None
        # Packs the learner said no to: submitting does not ask again; T still does.
        self.declined: set[str] = set()
        # The learner's edits of variants, by (question, variant): kept for the session.
        self.edits: dict[tuple[str, str], Experiment] = {}

    @property
    def app_(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="too-small")
        # Empty until mounted: composed with the screen, the question would be restyled once
        # more when the screen is first shown.
        yield VerticalScroll(id="body")
        yield KeyBar()

    async def on_mount(self) -> None:
        await self.show_current()
        for notice in self.app_.trust_policy.notices():
            self.notify(
                printable(notice),
                title=_("gradquiz carries on"),
                severity="warning",
                timeout=20,
                markup=False,
            )

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                _(
                    "The terminal is {width}×{height}; gradquiz needs at least "
                    "{min_width}×{min_height}. Make it bigger, or press ctrl+q to quit."
                ).format(width=width, height=height, min_width=MIN_WIDTH, min_height=MIN_HEIGHT)
            )

    @property
    def question(self) -> Question | None:
        view = self._view
        return view.question if view is not None else None

    def view(self) -> QuestionView | None:
        # Kept, not queried: check_action asks for it on every binding refresh.
        return self._view

    async def show_current(self) -> None:
        """Draw the question the quiz is at (or why there is none)."""
        body = self.query_one("#body", VerticalScroll)
        leaving, self._view = self._view, None
        if leaving is not None:
            # A drawing under way finishes first, and none starts after: nothing mounts into
            # widgets being removed.
            async with leaving.drawing:
                leaving.retired = True
        await body.remove_children()
        await body.mount(self.content())
        if self._view is not None and self._view.answered is not None:
            body.focus()
        self.refresh_bindings()
        self.call_after_refresh(self.app_.question_shown)

    def content(self) -> Widget:
        app = self.app_
        question = app.quiz.question
        if question is None:
            return Prose(
                _(
                    "No questions are loaded. Add packs with `--questions PATH`, "
                    "or drop `--no-bundled`."
                )
            )
        self._view = QuestionView(
            question,
            app.quiz,
            app.language,
            trusted=app.trusted(question),
            why_untrusted=app.trust_policy.why_not(question.pack),
            complete=app.library.complete,
        )
        return self._view

    def update_where(self) -> None:
        view = self.view()
        if view is not None:
            view.complete = self.app_.library.complete
            view.update_where()

    def runs_changed(self, question_id: str) -> None:
        view = self.view()
        if view is not None and view.question.id == question_id:
            self.run_worker(view.runs_changed(), group="redraw")

    async def answer_taken(self, question_id: str) -> None:
        view = self.view()
        if view is not None and view.question.id == question_id:
            await view.answer_taken()
            # The answer widget is disabled now: PageDown and the arrows go to what scrolls.
            self.query_one("#body").focus()

    async def trust_given(self, question_id: str) -> None:
        view = self.view()
        if view is not None and view.question.id == question_id:
            await view.trust_given()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "playground") and not editing_allowed():
            # Served to a classroom without --allow-editing: code typed in a browser would
            # run on the server.
            return False
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
        if action == "rerun":
            return True if self.app_.can_run(question) else None
        if action in ("variant", "setup", "compare", "graph"):
            lab = view.lab()
            # Before answering the lab is drawn out of sight, or (a pack not trusted) shows
            # the code to read: its keys are offered when it is in sight.
            if lab is None or not lab.display:
                return False
            if action == "graph":
                return True if lab.has_graph() else None
            if action == "compare":
                comparison = lab.comparison()
                return comparison is not None and len(comparison.columns) > 1
            return True if (lab.tables() if action == "variant" else lab.has_setup()) else None
        if action == "trust":
            return question.experiment is not None and not view.trusted
        if action == "closer_look":
            if not self.app_.quiz.is_leech(question.id):
                return False
            # Unanswered, the closer look is what is shown already.
            return True if answered else None
        if action == "edit":
            return None if question.experiment is None or not answered else True
        return True

    def action_pick(self, number: int) -> None:
        view = self.view()
        if view is not None:
            answer = view.answer()
            if isinstance(answer, ChoiceAnswer):
                answer.pick(number - 1)

    def action_truth(self, value: bool) -> None:
        self.action_pick(1 if value else 2)

    def in_turn(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the keys pressed before this one have been handled.

        The quiz's own keys are priority bindings, run as they arrive; a key for the answer
        widget in focus (a digit for the number box, space for an order line) goes through
        that widget and its parents first. Sent the same way, `200 Enter n` submits 200, then
        moves on, as pressed, instead of moving on with an empty box.
        """
        focused = self.focused
        if isinstance(focused, NumberInput | OrderAnswer | ErrorPicker):
            focused.post_message(InTurn(callback))
        else:
            callback()

    def action_submit(self) -> None:
        view = self.view()
        if view is not None:
            self.in_turn(partial(self.submit, view))

    def submit(self, view: QuestionView) -> None:
        if not view.is_attached:
            return
        question = view.question
        if (
            question.experiment is not None
            and not view.trusted
            and question.pack.file not in self.declined
            and view.ready_to_submit()
        ):
            self.ask_trust(view, submitting=True)
        else:
            view.submit()

    def action_trust(self) -> None:
        view = self.view()
        if view is not None and not view.trusted:
            self.ask_trust(view, submitting=False)

    def ask_trust(self, view: QuestionView, submitting: bool) -> None:
        from gradquiz.tui.screens.dialogs import TrustDialog

        policy, pack = self.app_.trust_policy, view.question.pack

        def decided(trust: bool | None) -> None:
            if trust:
                self.declined.discard(pack.file)
                self.app.post_message(TrustGiven(view.question.id, submitting))
                return
            self.declined.add(pack.file)
            if submitting and self.view() is view:
                view.submit()
            self.refresh_bindings()

        self.app.push_screen(TrustDialog(policy.summary(pack), policy.why_not(pack)), decided)

    async def action_hint(self) -> None:
        view = self.view()
        if view is None:
            return
        if not await view.show_hint():
            hints = len(view.question.hints)
            self.notify(
                _("This question has no hints.")
                if not hints
                else _("That was the last hint ({hints} of {hints}).").format(hints=hints)
            )
        self.refresh_bindings()

    def action_closer_look(self) -> None:
        question = self.question
        if question is not None:
            self.in_turn(partial(self.app.post_message, CloserLookAsked(question.id)))

    def action_move(self, delta: int) -> None:
        move = partial(self.app.post_message, MoveAsked(delta))
        # Before the other files are read, the question before the first is in them.
        self.in_turn(move if self.app_.library.complete else partial(self.with_library, move))

    def with_library(self, then: Callable[[], object]) -> None:
        """`then` once every question file is read (at once, after the first moments).

        Waited for in a worker: the keys' actions run in the app's own queue, where the
        message saying the library is read would wait behind them forever.
        """

        async def wait() -> None:
            await self.app_.whole_library()
            then()

        self.run_worker(wait(), group="library")

    def action_drill(self, mistakes: bool = False) -> None:
        # A drill chooses among every question.
        self.in_turn(
            partial(self.with_library, partial(self.app.post_message, DrillAsked(mistakes)))
        )

    def action_skip(self) -> None:
        question = self.question
        if question is not None:
            self.in_turn(partial(self.app.post_message, SkipAsked(question.id)))

    def action_stats(self) -> None:
        from gradquiz.tui.screens.stats import StatsScreen

        self.with_library(lambda: self.app.push_screen(StatsScreen()))

    def action_variant(self, delta: int) -> None:
        view = self.view()
        lab = view.lab() if view is not None else None
        if lab is not None:
            lab.step_variant(delta)

    def action_compare(self) -> None:
        view = self.view()
        lab = view.lab() if view is not None else None
        comparison = lab.comparison() if lab is not None else None
        if comparison is not None:
            comparison.next_column()

    def action_graph(self) -> None:
        view = self.view()
        lab = view.lab() if view is not None else None
        if lab is not None and lab.toggle_graph():
            lab.query_one(GraphPanel).scroll_visible(animate=False)

    def action_setup(self) -> None:
        view = self.view()
        lab = view.lab() if view is not None else None
        if lab is not None:
            lab.toggle_setup()

    def action_rerun(self) -> None:
        question = self.question
        if question is not None:
            self.app.post_message(RerunAsked(question.id))

    def action_edit(self) -> None:
        from gradquiz.tui.screens.editor import open_editor

        question, view = self.question, self.view()
        if question is None:
            return
        # The variant on display in the lab ([ ], a tab): at first the learner's pick.
        lab = view.lab() if view is not None else None
        tables = lab.tables() if lab is not None else None
        open_editor(self.app_, question, self.edits, tables.current if tables else None)

    def action_playground(self) -> None:
        from gradquiz.tui.screens.playground import open_playground

        open_playground(self.app_, self.question)

    def action_list(self) -> None:
        from gradquiz.tui.screens.question_list import QuestionListScreen

        def chosen(question_id: str | None) -> None:
            if question_id is not None:
                self.app.post_message(JumpAsked(question_id))

        self.with_library(lambda: self.app.push_screen(QuestionListScreen(), chosen))
