"""`v` in the lab: the autograd graph of the variant on display, read off the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Tree

from gradquiz.format import Library, load
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.help import key_table
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.graph import GraphPanel
from gradquiz.tui.widgets.lab import VariantTable
from tests.tui.conftest import settle
from tests.tui.test_lab import shown

GRAPH_PACKS = Path(__file__).parent / "graph_packs"
SIZE = (120, 60)


@pytest.fixture(scope="module")
def graph_library() -> Library:
    loaded = load([GRAPH_PACKS])
    assert not loaded.problems, loaded.problems
    return loaded


def graph_app(library: Library, lab: SharedLab) -> GradquizApp:
    return GradquizApp(library, lambda question: True, "neuron-detach", None, workers=1, lab=lab)


def tree_lines(app: GradquizApp) -> list[str]:
    """The tree's lines as shown, guides and all, blank ones dropped."""
    tree = app.screen.query_one("#graph-tree", Tree)
    return [line for line in shown(tree).splitlines() if line.strip()]


def title(app: GradquizApp) -> str:
    return shown(app.screen.query_one("#graph-title"))


async def test_v_shows_the_graph_the_loss_reaches_with_named_leaves(
    graph_library: Library, shared_lab: SharedLab
) -> None:
    app = graph_app(graph_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "enter")
        await settle(pilot)
        panel = app.screen.query_one(GraphPanel)
        assert not panel.display
        await pilot.press("v")
        await pilot.pause()
        assert panel.display
        # The lab opens on the pick, A (right): compared with B, the other variant.
        assert title(app) == "the graph of A at step 1; + only in A, − only in B"
        lines = tree_lines(app)
        assert lines[0] == "▼ loss · grad_fn SigmoidBackward0"
        text = "\n".join(lines)
        assert "SigmoidBackward0 · saves result [] (freed)" in text
        # The edge into MulBackward0 and w are A's alone: B cut them with detach.
        assert "+ MulBackward0 · saves self [] (freed)" in text
        assert "+ ● w [] · AccumulateGrad · .grad written in this step" in text
        assert "● b [] · AccumulateGrad · .grad written in this step" in text
        assert "+ ● b" not in text
        await pilot.press("v")
        await pilot.pause()
        assert not panel.display


async def test_the_detached_variant_shows_the_cut_and_follows_the_step(
    graph_library: Library, shared_lab: SharedLab
) -> None:
    app = graph_app(graph_library, shared_lab)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert title(app) == "the graph of B at step 1; + only in B, − only in A"
        text = "\n".join(tree_lines(app))
        assert "− input 0: MulBackward0 · saves self [] (freed), only in A" in text
        assert "+ not reached (their .grad stays as it was): w · A reaches w" in text
        assert "MulBackward0 · saves" in text and "+ MulBackward0" not in text
        # The table's cursor on step 2: the graph is that step's.
        card = next(t for t in app.screen.query(VariantTable) if t.variant == "B")
        card.query_one(DataTable).move_cursor(row=1)
        await pilot.pause()
        assert title(app) == "the graph of B at step 2; + only in B, − only in A"
        # `]` shows A: the graph goes with it, and its own marks.
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert title(app).startswith("the graph of A at step 1")
        assert "+ ● w [] · AccumulateGrad" in "\n".join(tree_lines(app))


async def test_v_is_in_the_key_bar_and_the_help_once_answered(
    graph_library: Library, shared_lab: SharedLab
) -> None:
    app = graph_app(graph_library, shared_lab)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        assert " v " not in f" {shown(bar)} "
        # Before the answer the lab is drawn out of sight: `v` does nothing yet.
        await pilot.press("v")
        assert not any(panel.display for panel in app.screen.query(GraphPanel))
        await pilot.press("1", "enter")
        await settle(pilot)
        await pilot.pause()
        assert "v Graph" in shown(bar)
    keys = [row for row in key_table().columns[1].cells]
    assert "Graph: show or hide the autograd graph of the variant on display" in keys
