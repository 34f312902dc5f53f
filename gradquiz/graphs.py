"""The autograd graph a row carries, as a reader sees it: labels, a tree, how two variants'
graphs differ, and Graphviz DOT. Pure: no torch, no screen.

Two graphs are compared node by node through keys that do not depend on where a node sits in
its list: a named leaf is its name; any other node is the path of `grad_fn` kinds (and input
positions) by which it is first reached from the root (a leaf named in one graph only is
matched by that path). An edge is its two ends' keys and the input it feeds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gradquiz.difference import variant_name
from gradquiz.display import one_line
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import (
    GRAD_CHANGED,
    GRAD_NONE,
    GRAD_SAME,
    MODULE,
    Graph,
    GraphNode,
    VariantResult,
)

ACCUMULATE = "AccumulateGrad"


class Mark(enum.Enum):
    """How a line of a variant's graph stands against the graph it is compared with."""

    SAME = "same"
    # The node, or the edge that leads to it, is in this graph only.
    ONLY_HERE = "only here"
    # A node the other graph has at this place and this one does not: a ghost line.
    ONLY_THERE = "only there"
    # Reached again by another path: shown once, referred to after.
    REPEATED = "repeated"


@dataclass(frozen=True)
class Line:
    """One line of the graph as a tree, the root first, each node's inputs below it."""

    text: str
    mark: Mark = Mark.SAME
    children: tuple[Line, ...] = ()
    # A leaf and what its .grad did in the step: GRAD_CHANGED, GRAD_SAME, GRAD_NONE.
    grad: str | None = None


@dataclass(frozen=True)
class GraphDifference:
    """Where `graph` differs from `other`, by index into `graph.nodes` and input position."""

    only_here: frozenset[int] = frozenset()
    # (node, input position) whose edge `other` lacks.
    edges_only_here: frozenset[tuple[int, int]] = frozenset()
    # Per node in both: (input position, the other graph's node there) missing here.
    only_there: Mapping[int, tuple[tuple[int, GraphNode], ...]] = field(default_factory=dict)
    # Leaves the other graph reaches and this one does not.
    unreached_here: tuple[str, ...] = ()
    # The other graph's root node when this one has another (or none): whatever hangs below
    # it is only there.
    root_there: GraphNode | None = None

    @property
    def none(self) -> bool:
        marked = self.only_here or self.edges_only_here or self.only_there or self.root_there
        return not marked and not self.unreached_here


def saved_text(node: GraphNode) -> str:
    parts = [f"{one_line(s.name)} {shape_text(s.shape)}" for s in node.saved]
    text = _("saves {tensors}").format(tensors=", ".join(parts)) if parts else ""
    if node.freed:
        text = _("{saved} (freed)").format(saved=text) if text else _("saved tensors freed")
    return text


def shape_text(shape: Sequence[int] | None) -> str:
    return "[" + ", ".join(str(n) for n in shape or ()) + "]"


GRAD_WORDS = {
    GRAD_CHANGED: N_(".grad written in this step"),
    GRAD_NONE: N_(".grad is None"),
    GRAD_SAME: N_(".grad not written in this step"),
}


def node_text(node: GraphNode) -> str:
    """`MulBackward0 · saves self [2] (freed)`, `w [2] · AccumulateGrad · grad changed…`"""
    if node.kind == MODULE:
        count = sum(node.inner.values())
        kinds = ", ".join(
            f"{one_line(k)}×{n}" for k, n in sorted(node.inner.items(), key=lambda kv: -kv[1])
        )
        return _("{module} (module, {count} nodes: {kinds})").format(
            module=one_line(node.name or ""), count=count, kinds=kinds
        )
    if node.kind == ACCUMULATE:
        name = one_line(node.name) if node.name else _("(unnamed leaf)")
        words = _(GRAD_WORDS[node.grad]) if node.grad in GRAD_WORDS else ""
        return " · ".join(p for p in (f"{name} {shape_text(node.shape)}", node.kind, words) if p)
    saved = saved_text(node)
    return f"{one_line(node.kind)} · {saved}" if saved else one_line(node.kind)


def keys(graph: Graph, named: bool = True) -> list[str]:
    """Each node's key (see the module's doc), in the order of `graph.nodes`; not `named`:
    leaves too by their path."""
    found: list[str | None] = [None] * len(graph.nodes)
    if not graph.nodes:
        return []
    found[0] = graph.nodes[0].kind
    for position, node in enumerate(graph.nodes):
        # Nodes are listed breadth-first from the root: a node's first path is settled
        # before any of its inputs is met.
        here = found[position] or f"?{position}"
        for slot, target in enumerate(node.next):
            if target is None or found[target] is not None:
                continue
            child = graph.nodes[target]
            found[target] = (
                f"leaf:{child.name}"
                if named and child.kind == ACCUMULATE and child.name
                else f"{here}/{slot}:{child.kind}"
            )
    return [k or f"?{i}" for i, k in enumerate(found)]


def _match_renamed_leaves(graph: Graph, mine: list[str], other: Graph, theirs: list[str]) -> None:
    """A leaf named in one graph and nameless in the other (`w = w - lr * w.grad` took the
    name away) is the same node where both sit at the same place: `mine` takes its key."""
    their_keys = set(theirs)
    their_paths = keys(other, named=False)
    nameless = {
        their_paths[i]: (theirs[i], node.name is None)
        for i, node in enumerate(other.nodes)
        if node.kind == ACCUMULATE
    }
    for position, path in enumerate(keys(graph, named=False)):
        node = graph.nodes[position]
        there = nameless.get(path)
        if node.kind != ACCUMULATE or mine[position] in their_keys or there is None:
            continue
        key, unnamed_there = there
        if unnamed_there or node.name is None:
            mine[position] = key


def _edges(graph: Graph, named: list[str]) -> set[tuple[str, int, str]]:
    return {
        (named[position], slot, named[target])
        for position, node in enumerate(graph.nodes)
        for slot, target in enumerate(node.next)
        if target is not None
    }


def compare(graph: Graph, other: Graph) -> GraphDifference:
    """What `graph` has that `other` lacks, and the reverse where it can be placed in `graph`."""
    mine, theirs = keys(graph), keys(other)
    _match_renamed_leaves(graph, mine, other, theirs)
    their_keys = set(theirs)
    my_edges, their_edges = _edges(graph, mine), _edges(other, theirs)
    only_here = frozenset(i for i, key in enumerate(mine) if key not in their_keys)
    edges_only_here = frozenset(
        (position, slot)
        for position, node in enumerate(graph.nodes)
        for slot, target in enumerate(node.next)
        if target is not None and (mine[position], slot, mine[target]) not in their_edges
    )
    where = {key: position for position, key in enumerate(mine)}
    their_index = {key: position for position, key in enumerate(theirs)}
    only_there: dict[int, list[tuple[int, GraphNode]]] = {}
    for source, slot, target in sorted(their_edges - my_edges):
        if source in where:
            node = other.nodes[their_index[target]]
            only_there.setdefault(where[source], []).append((slot, node))
    reached_there = _reached(other)
    unreached_here = tuple(n for n in graph.unreached if n in reached_there)
    root_there = other.nodes[0] if theirs and (not mine or mine[0] != theirs[0]) else None
    return GraphDifference(
        only_here,
        edges_only_here,
        {k: tuple(v) for k, v in only_there.items()},
        unreached_here,
        root_there,
    )


def _reached(graph: Graph) -> set[str]:
    return {n.name for n in graph.nodes if n.kind == ACCUMULATE and n.name}


def tree(graph: Graph, difference: GraphDifference | None = None, against: str = "") -> Line:
    """The graph as lines: the graph tensor, its `grad_fn` and each node's inputs below it;
    marked against the other variant (`against` names it) when `difference` is given."""
    difference = difference or GraphDifference()
    if graph.error is not None:
        return Line(_("{expr}: no graph ({error})").format(expr=graph.expr, error=graph.error))
    shown: set[int] = set()

    def line(position: int, edge_here: bool) -> Line:
        node = graph.nodes[position]
        here = position in difference.only_here or edge_here
        mark = Mark.ONLY_HERE if here and against else Mark.SAME
        if position in shown:
            return Line(_("{node} (shown above)").format(node=node_text(node)), Mark.REPEATED)
        shown.add(position)
        children = [
            line(target, (position, slot) in difference.edges_only_here)
            for slot, target in enumerate(node.next)
            if target is not None
        ]
        for slot, missing in difference.only_there.get(position, ()):
            text = _("input {slot}: {node}, only in {other}").format(
                slot=slot, node=node_text(missing), other=one_line(variant_name(against))
            )
            children.insert(min(slot, len(children)), Line(text, Mark.ONLY_THERE))
        grad = node.grad if node.kind == ACCUMULATE else None
        return Line(node_text(node), mark, tuple(children), grad)

    expr = one_line(graph.expr)
    if not graph.nodes:
        why = (
            _("a leaf: it has no grad_fn")
            if graph.requires_grad
            else _("requires_grad=False: no graph behind it")
        )
        lines: list[Line] = []
    else:
        why = _("grad_fn {kind}").format(kind=one_line(graph.nodes[0].kind))
        lines = [line(0, False)]
    if difference.root_there is not None and against:
        text = _("grad_fn {node}, only in {other}").format(
            node=node_text(difference.root_there), other=one_line(variant_name(against))
        )
        lines.append(Line(text, Mark.ONLY_THERE))
    if graph.summarised:
        lines.append(
            Line(
                _("summarised per module: the graph has {count} nodes").format(
                    count=graph.summarised
                )
            )
        )
    if graph.unreached:
        missed = ", ".join(one_line(n) for n in graph.unreached)
        mark = Mark.ONLY_HERE if difference.unreached_here and against else Mark.SAME
        text = _("not reached (their .grad stays as it was): {names}").format(names=missed)
        if difference.unreached_here and against:
            reached = ", ".join(one_line(n) for n in difference.unreached_here)
            text += " · " + _("{other} reaches {names}").format(
                other=one_line(variant_name(against)), names=reached
            )
        lines.append(Line(text, mark))
    return Line(f"{expr} · {why}", Mark.SAME, tuple(lines))


def graph_at(result: VariantResult, row: int | None) -> Graph | None:
    """The graph of the `row`-th row (one past the last: the error's); None: the graph at the
    error, else the last row's, else the last one that has one."""
    if row is not None:
        return result.graph_at(row)
    found = (result.graph_at(index) for index in range(len(result.rows), -1, -1))
    return next((graph for graph in found if graph is not None), None)


def counterpart(variants: Sequence[str], shown: str, reference: str | None) -> str | None:
    """The variant the shown one's graph is compared with: the right one, or for the right
    one itself the first other variant."""
    if reference is not None and shown != reference:
        return reference
    return next((v for v in variants if v != shown), None)


def _dot_string(*lines: str) -> str:
    """`lines` as one DOT quoted string: each line escaped (control characters, newlines
    included, spelled out; quotes and backslashes escaped), joined by DOT's own \\n."""
    escaped = [one_line(line).replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def dot(name: str, graph: Graph | None) -> str:
    """One `digraph` drawing the graph as torchviz does: each input points at the node that
    uses it, so the leaves (boxes, named) are at the top and the graph tensor at the bottom."""
    lines = [f"digraph {_dot_string(name)} {{", "  node [fontname=monospace];"]
    if graph is None:
        label = _dot_string(_("{name}: no graph").format(name=name))
        lines.append(f"  label={label};")
        lines.append("}")
        return "\n".join(lines) + "\n"
    title = f"{name}: {graph.expr}" + (f" ({graph.error})" if graph.error else "")
    lines.append(f"  label={_dot_string(title)};")
    lines.append(f"  tensor [label={_dot_string(graph.expr)}, shape=oval, style=filled];")
    for position, node in enumerate(graph.nodes):
        if node.kind == ACCUMULATE:
            label = _dot_string(node.name or _("(unnamed leaf)"), shape_text(node.shape))
            style = "shape=box, style=filled, fillcolor=lightblue"
        elif node.kind == MODULE:
            label = _dot_string(node_text(node))
            style = "shape=box3d"
        else:
            label = _dot_string(*(p for p in (node.kind, saved_text(node)) if p))
            style = "shape=box, style=rounded"
        lines.append(f"  n{position} [label={label}, {style}];")
    if graph.nodes:
        lines.append("  n0 -> tensor;")
    for position, node in enumerate(graph.nodes):
        for target in node.next:
            if target is not None:
                lines.append(f"  n{target} -> n{position};")
    for index, missed in enumerate(graph.unreached):
        label = _dot_string(missed, _("not reached"))
        lines.append(f"  unreached{index} [label={label}, shape=box, style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GraphView:
    """What `v` shows: whose graph at which step, compared with which variant, as lines."""

    title: str
    root: Line | None


def graph_view(
    results: Mapping[str, VariantResult], shown: str, row: int | None, reference: str | None
) -> GraphView:
    """The graph of variant `shown` at its `row`-th row (None: its last), marked against the
    counterpart's graph at the same row (or its last, when it has fewer rows)."""
    result = results.get(shown)
    if result is None:
        return GraphView(
            _("{variant} did not run: no graph").format(variant=one_line(variant_name(shown))), None
        )
    # No row given: the error's line when it has a graph, else the last row.
    index = len(result.rows) - (result.error_graph is None) if row is None else row
    graph = graph_at(result, row)
    if index == len(result.rows) and result.error is not None:
        step = result.error.step
        where = _("the error (step {step})").format(step=step)
    elif 0 <= index < len(result.rows):
        where = _("step {step}").format(step=result.rows[index].step)
    else:
        where = _("no row")
    if graph is None:
        title = _("{variant} at {where}: no graph (no loss, and no experiment.graph)")
        return GraphView(title.format(variant=one_line(variant_name(shown)), where=where), None)
    other = counterpart(list(results), shown, reference)
    if other is None:
        title = _("the graph of {variant} at {where}").format(
            variant=one_line(variant_name(shown)), where=where
        )
        return GraphView(title, tree(graph))
    against = results[other]
    # The same row of the other run; past its rows, what it had last (at its error, say).
    their = graph_at(against, index if index < len(against.rows) else None)
    if their is None:
        title = _("the graph of {variant} at {where} ({other} has none to compare)")
        return GraphView(
            title.format(
                variant=one_line(variant_name(shown)),
                where=where,
                other=one_line(variant_name(other)),
            ),
            tree(graph),
        )
    difference = compare(graph, their)
    if difference.none:
        title = _("the graph of {variant} at {where}: the same nodes and edges as {other}'s")
    else:
        title = _("the graph of {variant} at {where}; + only in {variant}, − only in {other}")
    found = title.format(
        variant=one_line(variant_name(shown)), where=where, other=one_line(variant_name(other))
    )
    return GraphView(found, tree(graph, difference, other))
