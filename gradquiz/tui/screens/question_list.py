"""All loaded questions by pack and topic, with what the learner did with each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Tree
from textual.widgets.tree import TreeNode

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp

MARKS = {"new": "·", "right": "✓", "wrong": "✗"}


class QuestionListScreen(Screen[str | None]):
    """Pick a question (enter or click) to jump to it; dismisses with its id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,l", "dismiss_none", "Back", id="list.back"),
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
            state = self.quiz.session.state(question.id)
            label = RichText(f"{MARKS[state]} {state:<5}  {question.title.get(self.quiz.language)}")
            leaf = topics[pack, question.topic].add_leaf(label, data=question.id)
            if question.id == current_id:
                self.call_after_refresh(tree.move_cursor, leaf)
        yield tree
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Tree).focus()

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
