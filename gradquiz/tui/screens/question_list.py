"""All loaded questions by pack and topic, with what the learner did with each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Tree
from textual.widgets.tree import TreeNode

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


class QuestionListScreen(Screen[str | None]):
    """Pick a question (enter or click) to jump to it; dismisses with its id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,l", "dismiss_none", N_("Back"), id="list.back"),
        Binding("delete", "reset", N_("Reset progress…"), id="list.reset"),
    ]

    @property
    def app_(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[str] = Tree(_("Questions"), id="questions")
        tree.show_root = False
        shown = self.app_.quiz.question
        current_id = shown.id if shown is not None else None
        packs: dict[str, TreeNode[str]] = {}
        topics: dict[tuple[str, str], TreeNode[str]] = {}
        for question in self.app_.library.questions:
            pack = question.pack.name
            if pack not in packs:
                packs[pack] = tree.root.add(RichText(one_line(pack)), expand=True)
            if (pack, question.topic) not in topics:
                topics[pack, question.topic] = packs[pack].add(
                    RichText(one_line(question.topic)), expand=True
                )
            leaf = topics[pack, question.topic].add_leaf(self.label(question.id), data=question.id)
            if question.id == current_id:
                self.call_after_refresh(tree.move_cursor, leaf)
        yield tree
        yield KeyBar()

    def label(self, question_id: str) -> RichText:
        quiz = self.app_.quiz
        state = quiz.state(question_id)
        question = self.app_.library.get(question_id)
        title = one_line(question.title.get(self.app_.language) if question else question_id)
        colour = self.app.theme_variables.get(MARK_COLOURS[state], "")
        label = RichText()
        name = _(STATE_NAMES[state])
        # Padded by cells: a Chinese character takes two.
        label.append(f"{MARKS[state]} {name}{' ' * (5 - cell_len(name))}", style=colour)
        due = due_text(quiz.due.get(question_id), datetime.now(UTC))
        label.append(f"  {due}{' ' * (14 - cell_len(due))}  " if due or quiz.due else "  ")
        label.append(title)
        return label

    def answered_ever(self, question_id: str) -> bool:
        quiz = self.app_.quiz
        return question_id in quiz.saved or question_id in quiz.answers

    def highlighted(self) -> str | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reset":
            question_id = self.highlighted()
            # Greyed for a question never answered: there is nothing to forget.
            return True if question_id and self.answered_ever(question_id) else None
        return True

    def on_tree_node_highlighted(self) -> None:
        self.refresh_bindings()

    def on_progress_changed(self, message: ProgressChanged) -> None:
        for node in self.query_one(Tree).root.children:
            for topic in node.children:
                for leaf in topic.children:
                    if leaf.data is not None:
                        leaf.set_label(self.label(leaf.data))
        self.refresh_bindings()

    def on_mount(self) -> None:
        self.query_one(Tree).focus()

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
