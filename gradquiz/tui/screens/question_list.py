"""All loaded questions by pack and topic, with what the learner did with each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Tree
from textual.widgets.tree import TreeNode

from gradquiz.tui.screens.dialogs import ConfirmDialog
from gradquiz.tui.widgets.footer import KeyBar

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp

MARKS = {"new": "·", "right": "✓", "wrong": "✗"}


class QuestionListScreen(Screen[str | None]):
    """Pick a question (enter or click) to jump to it; dismisses with its id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,l", "dismiss_none", "Back", id="list.back"),
        Binding("delete", "reset", "Reset progress…", id="list.reset"),
    ]

    @property
    def quiz(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[str] = Tree("Questions", id="questions")
        tree.show_root = False
        current = self.quiz.quiz_screen()
        current_id = current.question.id if current and current.question else None
        packs: dict[str, TreeNode[str]] = {}
        topics: dict[tuple[str, str], TreeNode[str]] = {}
        for question in self.quiz.library.questions:
            pack = question.pack.name
            if pack not in packs:
                packs[pack] = tree.root.add(RichText(pack), expand=True)
            if (pack, question.topic) not in topics:
                topics[pack, question.topic] = packs[pack].add(
                    RichText(question.topic), expand=True
                )
            leaf = topics[pack, question.topic].add_leaf(self.label(question.id), data=question.id)
            if question.id == current_id:
                self.call_after_refresh(tree.move_cursor, leaf)
        yield tree
        yield KeyBar()

    def label(self, question_id: str) -> RichText:
        state = self.quiz.session.state(question_id)
        question = self.quiz.library.get(question_id)
        title = question.title.get(self.quiz.language) if question else question_id
        return RichText(f"{MARKS[state]} {state:<5}  {title}")

    def on_mount(self) -> None:
        self.query_one(Tree).focus()

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_reset(self) -> None:
        """Forget the highlighted question's history, after asking."""
        node = self.query_one(Tree).cursor_node
        question_id = node.data if node is not None else None
        question = self.quiz.library.get(question_id) if question_id else None
        if node is None or question is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.quiz.reset_question(question)
                node.set_label(self.label(question.id))
                self.notify(f"Progress reset: {question.title.get(self.quiz.language)}")

        title = question.title.get(self.quiz.language)
        self.app.push_screen(
            ConfirmDialog("Reset this question?", f"Forget every answer to “{title}”."),
            answered,
        )
