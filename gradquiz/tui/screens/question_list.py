"""All loaded questions by pack and topic, with what the learner did with each, filtered as
the learner asks (`gradquiz.browse`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, cast

from rich.cells import cell_len
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Input, Static, Tree
from textual.widgets.tree import TreeNode

from gradquiz.browse import STATES, Filters, browse
from gradquiz.display import one_line
from gradquiz.i18n import N_, _
from gradquiz.tui.messages import ProgressChanged, ResetAsked
from gradquiz.tui.screens.dialogs import ConfirmDialog
from gradquiz.tui.widgets.footer import KeyBar

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp

MARKS = {"new": "·", "right": "✓", "wrong": "✗"}
STATE_NAMES = {"new": N_("new"), "right": N_("right"), "wrong": N_("wrong")}
# Theme variables, so the marks follow light and dark.
MARK_COLOURS = {"new": "text-muted", "right": "success", "wrong": "error"}


def due_text(due: datetime | None, now: datetime) -> str:
    """When the question comes back for review, in the learner's own days."""
    if due is None:
        return ""
    if due <= now:
        return _("due now")
    days = (due.astimezone().date() - now.astimezone().date()).days
    if days == 0:
        return _("due today")
    if days == 1:
        return _("due tomorrow")
    if days < 14:
        return _("due in {days} days").format(days=days)
    # TRANSLATORS: a date as strftime writes it (%d %b: 05 Mar).
    return due.astimezone().strftime(_("due %d %b"))


FILTER_LINE = N_("topic: {topic} · type: {type} · state: {state} · {shown} of {total} shown")
ANY = N_("any")


class QuestionListScreen(Screen[str | None]):
    """Every question, by pack and topic, filtered by topic, type, state and words typed; pick
    one (enter or click) to jump to it: dismisses with its id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the focus leaves the words before the keys after it are handed out, so
        # `escape c` clears the filters instead of typing a `c`.
        Binding("escape", "back", N_("Back"), id="list.back", priority=True),
        Binding(
            "enter", "leave_words", N_("To the list"), show=False, id="list.enter", priority=True
        ),
        # The list's letters are priority keys too, taken in the order typed: a key left to
        # the list would act only once it has bubbled up to the app, after a `/` typed behind
        # it. While the words have the focus they stand down (check_action), and are typed.
        Binding("l", "dismiss_none", N_("Back"), show=False, id="list.leave", priority=True),
        Binding("slash", "search", N_("Find"), key_display="/", id="list.search", priority=True),
        Binding("t", "cycle('topic')", N_("Topic"), id="list.topic", priority=True),
        Binding("y", "cycle('type')", N_("Type"), id="list.type", priority=True),
        Binding("s", "cycle('state')", N_("State"), id="list.state", priority=True),
        Binding("c", "clear", N_("Clear filters"), id="list.clear", priority=True),
        Binding("down", "to_tree", N_("To the list"), show=False, id="list.down"),
        Binding("delete", "reset", N_("Reset progress…"), id="list.reset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = Filters()

    @property
    def app_(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder=_("words of a title, id or prompt (/ to come back here)"),
            id="list-text",
        )
        yield Static(id="list-filters")
        yield Static(_("No question matches these filters (c clears them)."), id="list-empty")
        tree: Tree[str] = Tree(_("Questions"), id="questions")
        tree.show_root = False
        yield tree
        yield KeyBar()

    def on_mount(self) -> None:
        shown = self.app_.quiz.question
        self.fill(shown.id if shown is not None else None)
        self.query_one(Tree).focus()

    def options(self, field: str) -> list[str]:
        questions = self.app_.library.questions
        if field == "state":
            return list(STATES)
        if field == "topic":
            return sorted({q.topic for q in questions})
        return sorted({q.type for q in questions})

    def fill(self, keep: str | None) -> None:
        """Draw the questions the filters let through; the cursor on `keep` if it is shown."""
        app = self.app_
        questions = app.library.questions
        now = datetime.now(UTC)
        shown = browse(questions, app.quiz.facts, self.filters, now, app.language)
        tree = self.query_one(Tree)
        tree.clear()
        packs: dict[str, TreeNode[str]] = {}
        topics: dict[tuple[str, str], TreeNode[str]] = {}
        target: TreeNode[str] | None = None
        first: TreeNode[str] | None = None
        for question in shown:
            pack = question.pack.name_in(app.language)
            if pack not in packs:
                packs[pack] = tree.root.add(RichText(one_line(pack)), expand=True)
            if (pack, question.topic) not in topics:
                topics[pack, question.topic] = packs[pack].add(
                    RichText(one_line(question.topic)), expand=True
                )
            leaf = topics[pack, question.topic].add_leaf(self.label(question.id), data=question.id)
            first = first or leaf
            if question.id == keep:
                target = leaf
        if target or first:
            self.call_after_refresh(tree.move_cursor, target or first)
        # The tree stays, empty, so the keys (c to clear) still have somewhere to be read.
        self.query_one("#list-empty").display = not shown
        f = self.filters
        line = _(FILTER_LINE).format(
            topic=one_line(f.topic or _(ANY)),
            type=f.type or _(ANY),
            state=f.state or _(ANY),
            shown=len(shown),
            total=len(questions),
        )
        self.query_one("#list-filters", Static).update(RichText(line))
        self.refresh_bindings()

    def label(self, question_id: str) -> RichText:
        quiz = self.app_.quiz
        facts = quiz.facts(question_id)
        question = self.app_.library.get(question_id)
        title = one_line(question.title.get(self.app_.language) if question else question_id)
        colour = self.app.theme_variables.get(MARK_COLOURS[facts.state], "")
        label = RichText()
        name = _(STATE_NAMES[facts.state])
        # Padded by cells: a Chinese character takes two.
        label.append(f"{MARKS[facts.state]} {name}{' ' * (5 - cell_len(name))}", style=colour)
        due = due_text(facts.due, datetime.now(UTC)) if facts.state != "new" else ""
        # A column for due dates once any question has one.
        label.append(f"  {due}{' ' * (14 - cell_len(due))}  " if due or quiz.due else "  ")
        kind = question.type if question is not None else ""
        label.append(f"{kind:<9} ", style="dim")
        if facts.leech:
            label.append(_("⚑ leech") + " ", style=self.app.theme_variables.get("warning", ""))
        label.append(title)
        return label

    def answered_ever(self, question_id: str) -> bool:
        quiz = self.app_.quiz
        return question_id in quiz.saved or question_id in quiz.answers

    def highlighted(self) -> str | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = self.focused is self.query_one(Input)
        if action in ("search", "dismiss_none", "cycle", "clear") and typing:
            return False  # typed: a word may hold any letter, a title a `/`
        if action == "leave_words" and not typing:
            return False  # enter on the list picks the question
        if action == "reset":
            question_id = self.highlighted()
            # Greyed for a question never answered: there is nothing to forget.
            return True if question_id and self.answered_ever(question_id) else None
        return True

    def on_tree_node_highlighted(self) -> None:
        self.refresh_bindings()

    def on_progress_changed(self, message: ProgressChanged) -> None:
        self.fill(self.highlighted())

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filters = replace(self.filters, text=event.value)
        self.fill(self.highlighted())

    def action_search(self) -> None:
        # At once: `focus()` waits its turn behind the keys typed after this one.
        self.set_focus(self.query_one(Input))

    def action_to_tree(self) -> None:
        self.set_focus(self.query_one(Tree))

    def action_leave_words(self) -> None:
        self.action_to_tree()

    def action_back(self) -> None:
        """From the words typed, back to the list; from the list, back to the question."""
        if self.focused is self.query_one(Input):
            self.action_to_tree()
        else:
            self.dismiss(None)

    def action_cycle(self, field: Literal["topic", "type", "state"]) -> None:
        self.filters = self.filters.cycled(field, self.options(field))
        self.fill(self.highlighted())

    def action_clear(self) -> None:
        text = self.query_one(Input)
        self.filters = Filters()
        with text.prevent(Input.Changed):
            text.value = ""
        self.fill(self.highlighted())

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_reset(self) -> None:
        """Forget the highlighted question's history, after asking."""
        question_id = self.highlighted()
        question = self.app_.library.get(question_id) if question_id else None
        if question is None or not self.answered_ever(question.id):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.post_message(ResetAsked((question.id,)))

        title = one_line(question.title.get(self.app_.language))
        self.app.push_screen(
            ConfirmDialog(
                _("Reset this question?"),
                _("Forget every answer to “{title}”.").format(title=title),
            ),
            answered,
        )
