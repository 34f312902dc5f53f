"""`v` in the lab: the autograd graph of the variant on display, as a tree.

What it shows is worked out by the pure `gradquiz.graphs.graph_view` (which row, which variant
it is compared with, which nodes and edges only one of them has); this widget only draws those
lines. Pack text (names, expressions) arrives escaped by `display.one_line` and is drawn as
Rich `Text`, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from gradquiz.graphs import GraphView, Line, Mark
from gradquiz.lab.protocol import GRAD_CHANGED, GRAD_NONE

# Before each line: how it stands against the other variant's graph.
PREFIXES = {Mark.SAME: "", Mark.ONLY_HERE: "+ ", Mark.ONLY_THERE: "− ", Mark.REPEATED: "↑ "}
# Before a leaf: whether a backward wrote its .grad in the step (●), did not (○), or it is
# None (∅).
GRAD_SIGNS = {GRAD_CHANGED: "● ", GRAD_NONE: "∅ "}


class GraphPanel(Vertical):
    """The graph's title line and its tree, redrawn whenever the lab's selection moves."""

    def __init__(self) -> None:
        super().__init__(id="graph")
        self.view: GraphView | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="graph-title")
        tree: Tree[None] = Tree("", id="graph-tree")
        tree.show_root = True
        yield tree

    def show(self, view: GraphView) -> None:
        if view == self.view:
            return
        self.view = view
        self.query_one("#graph-title", Static).update(Text(view.title, style="bold"))
        tree = self.query_one("#graph-tree", Tree)
        tree.clear()
        tree.display = view.root is not None
        if view.root is None:
            return
        tree.root.set_label(self.label(view.root))
        for child in view.root.children:
            self.add(tree.root, child)
        tree.root.expand_all()

    def add(self, parent: TreeNode[None], line: Line) -> None:
        label = self.label(line)
        if not line.children:
            parent.add_leaf(label)
            return
        node = parent.add(label, expand=True)
        for child in line.children:
            self.add(node, child)

    def label(self, line: Line) -> Text:
        colours = self.app.theme_variables
        styles = {
            Mark.SAME: "",
            Mark.ONLY_HERE: f"bold {colours['success']}",
            Mark.ONLY_THERE: f"{colours['error']} italic",
            Mark.REPEATED: "dim",
        }
        text = Text(PREFIXES[line.mark], style=styles[line.mark])
        if line.grad is not None:
            sign = GRAD_SIGNS.get(line.grad, "○ ")
            text.append(sign, style=colours["warning"] if line.grad == GRAD_CHANGED else "dim")
        text.append(line.text, style=styles[line.mark])
        return text
