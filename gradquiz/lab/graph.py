"""The autograd graph behind a tensor, as plain data (see protocol.Graph), taken in the child.

The walk follows `grad_fn.next_functions` from the graph tensor. Leaves (`AccumulateGrad`)
are named after the namespace's variables or the parameters of its modules; each node lists
the shapes of the tensors it saved for backward, or is marked freed when a backward without
`retain_graph` has let them go (reading them then raises). A graph of more than MAX_NODES
nodes is sent as one node per top-level module instead (see `_summarised`), and one of more
than WALK_LIMIT is walked no further.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradquiz.lab.protocol import (
    GRAD_CHANGED,
    GRAD_NONE,
    GRAD_SAME,
    MODULE,
    Graph,
    GraphNode,
    SavedTensor,
)

MAX_NODES = 100
# A graph is walked this far at most (a loop of a million small operations would take the
# run's whole timeout): beyond, its summary stands for the nodes walked.
WALK_LIMIT = 10_000
# Summary nodes of work done outside any module (the loss, inputs' own operations).
OUTSIDE = "(outside modules)"
SAVED_PREFIX = "_saved_"
ACCUMULATE = "AccumulateGrad"
# Marks torch's backward entry point as wrapped already (see wrap_backward).
WRAPPED = "_gradquiz_wrapped"

# What a leaf's .grad was, compared by object and in-place version: a backward that
# accumulates bumps the version, one after zero_grad(set_to_none=True) makes a new tensor.
GradState = tuple[torch.Tensor | None, int]


def _saved_attributes(node: Any, known: dict[type, tuple[str, ...]]) -> tuple[str, ...]:
    """The node class's `_saved_*` attributes, looked up once per class (`dir` is slow)."""
    kind = type(node)
    if kind not in known:
        known[kind] = tuple(a for a in dir(node) if a.startswith(SAVED_PREFIX))
    return known[kind]


def _hooked(raw: Any) -> bool:
    """Whether reading a saved tensor would run a saved-tensor hook: checkpointing's recomputes
    the segment, a user's may count or move data. Taking the graph must change nothing the
    experiment computes, so such a tensor is not read (its shape is left out)."""
    if isinstance(raw, list | tuple):
        return any(_hooked(item) for item in raw)
    return getattr(raw, "unpack_hook", None) is not None


def saved_tensors(node: Any, attributes: tuple[str, ...]) -> tuple[list[SavedTensor], bool]:
    """The shapes of the tensors `node` saved, and whether they were freed."""
    saved: list[SavedTensor] = []
    for attribute in attributes:
        try:
            if _hooked(getattr(node, "_raw" + attribute, None)):
                continue
            value = getattr(node, attribute)
        except RuntimeError:  # freed by a backward without retain_graph
            return saved, True
        if isinstance(value, torch.Tensor):
            saved.append(SavedTensor(attribute[len(SAVED_PREFIX) :], list(value.shape)))
    return saved, False


def namespace_tensors(namespace: dict[str, Any]) -> list[tuple[str, torch.Tensor]]:
    """Each tensor of `namespace` and each parameter of a module in it, with its name there
    (`w`, `fc.weight`)."""
    found = []
    for name, value in namespace.items():
        if isinstance(value, torch.Tensor):
            if not name.startswith("__"):
                found.append((name, value))
        elif isinstance(value, nn.Module):
            found.extend((f"{name}.{p}", parameter) for p, parameter in value.named_parameters())
    return found


def shortest_names(tensors: list[tuple[str, torch.Tensor]]) -> dict[int, str]:
    """id of each tensor -> the shortest of its names (`fc.weight` over `model.0.weight`)."""
    found: dict[int, str] = {}
    for name, tensor in tensors:
        known = found.get(id(tensor))
        if known is None or len(name) < len(known):
            found[id(tensor)] = name
    return found


class _Watching:
    """The capture of the run going on in this process, if it watches backward."""

    capture: GraphCapture | None = None


def wrap_backward() -> bool:
    """Wrap torch's backward entry point, once for good, so that the watching capture reads
    what each node saved before a backward frees it (see GraphCapture.watch_backward).

    Once, not each run: rebinding it moves the version tag of torch.autograd's namespace,
    which a shared child's fingerprint then compares entry by entry, touching (so copying)
    every value's page (see fingerprint). The worker wraps it before it forks. False where
    this torch has no such entry point (it is private API): freed nodes then show no shapes.
    """
    engine = getattr(torch.autograd, "_engine_run_backward", None)
    if engine is None:
        return False
    if getattr(engine, WRAPPED, False):
        return True

    def run_backward(outputs: Any, *args: Any, **kwargs: Any) -> Any:
        capture = _Watching.capture
        if capture is not None:
            capture.before_backward(outputs)
        return engine(outputs, *args, **kwargs)

    setattr(run_backward, WRAPPED, True)
    run_backward.__wrapped__ = engine  # type: ignore[attr-defined]
    setattr(torch.autograd, "_engine_run_backward", run_backward)  # noqa: B010 - private
    return True


class GraphCapture:
    """Takes a run's graphs, row by row, and remembers each leaf's .grad between steps."""

    def __init__(self) -> None:
        self._attributes: dict[type, tuple[str, ...]] = {}
        # Leaves seen in a graph so far, by id (held, so an id is never reused) -> tensor.
        self._leaves: dict[int, torch.Tensor] = {}
        self._before: dict[int, GradState] = {}
        # What each node saved, read just before a backward freed it: id -> (node, saved).
        self._saved: dict[int, tuple[Any, list[SavedTensor]]] = {}
        self._read_this_step = False

    def begin_step(self) -> None:
        """Note every known leaf's .grad as the step starts: a row says whether it changed."""
        self._before = {key: _grad_state(leaf) for key, leaf in self._leaves.items()}
        self._saved.clear()
        self._read_this_step = False

    def watch_backward(self) -> None:
        """Read what each node saved before a backward frees it, so that a row taken after
        `loss.backward()` still shows it. Only before a step's first backward: reading every
        saved tensor costs, and a step that loops over backward would pay it each time (its
        later graphs show as freed, without shapes)."""
        if wrap_backward():
            _Watching.capture = self

    def unwatch_backward(self) -> None:
        """Stop reading: this run's capture must not hear the next run's backward."""
        if _Watching.capture is self:
            _Watching.capture = None

    def before_backward(self, outputs: Any) -> None:
        if not self._read_this_step:
            self._read_this_step = True
            for output in outputs:
                root = getattr(output, "grad_fn", None)
                if root is not None:
                    self._remember_saved(root)

    def _remember_saved(self, root: Any) -> None:
        seen = {id(root)}
        pending = [root]
        while pending and len(seen) <= MAX_NODES:
            node = pending.pop()
            if type(node).__name__ != ACCUMULATE and id(node) not in self._saved:
                saved, freed = saved_tensors(node, _saved_attributes(node, self._attributes))
                if saved and not freed:
                    self._saved[id(node)] = (node, saved)
            for child, _input in node.next_functions:
                if child is not None and id(child) not in seen:
                    seen.add(id(child))
                    pending.append(child)

    def capture(self, expr: str, value: Any, namespace: dict[str, Any]) -> Graph:
        if not isinstance(value, torch.Tensor):
            return Graph(expr, False, error=f"{expr} is a {type(value).__name__}, not a tensor")
        tensors = namespace_tensors(namespace)
        root = value.grad_fn
        nodes, reached = (
            self._walk(root, shortest_names(tensors)) if root is not None else ([], set())
        )
        if root is None and value.requires_grad:
            reached.add(id(value))
        unreached = sorted(
            {
                name
                for name, tensor in tensors
                if tensor.requires_grad and tensor.grad_fn is None and id(tensor) not in reached
            }
        )
        if len(nodes) > MAX_NODES:
            return Graph(expr, value.requires_grad, _summarised(nodes), unreached, len(nodes))
        return Graph(expr, value.requires_grad, nodes, unreached)

    def _walk(self, root: Any, names: dict[int, str]) -> tuple[list[GraphNode], set[int]]:
        """Every node reachable from `root`, in the order first met (root first)."""
        index = {id(root): 0}
        order = [root]
        reached: set[int] = set()
        nodes = []
        position = 0
        while position < len(order):
            node = order[position]
            position += 1
            following: list[int | None] = []
            for child, _input in node.next_functions:
                if child is None:
                    following.append(None)
                    continue
                if id(child) not in index:
                    if len(order) >= WALK_LIMIT:
                        continue
                    index[id(child)] = len(order)
                    order.append(child)
                following.append(index[id(child)])
            nodes.append(self._node(node, following, names, reached))
        return nodes, reached

    def _node(
        self, node: Any, following: list[int | None], names: dict[int, str], reached: set[int]
    ) -> GraphNode:
        kind = type(node).__name__
        if kind == ACCUMULATE:
            leaf = node.variable
            reached.add(id(leaf))
            self._leaves.setdefault(id(leaf), leaf)
            before = self._before.get(id(leaf), (None, 0))
            now = _grad_state(leaf)
            if now[0] is None:
                grad = GRAD_NONE
            else:
                grad = GRAD_SAME if now[0] is before[0] and now[1] == before[1] else GRAD_CHANGED
            return GraphNode(kind, following, names.get(id(leaf)), list(leaf.shape), grad)
        saved, freed = saved_tensors(node, _saved_attributes(node, self._attributes))
        remembered = self._saved.get(id(node))
        if freed and remembered is not None and remembered[0] is node:
            saved = remembered[1]
        return GraphNode(kind, following, saved=saved, freed=freed)


def _grad_state(leaf: torch.Tensor) -> GradState:
    grad = leaf.grad
    return grad, (grad._version if grad is not None else 0)


def _module_of(name: str | None) -> str | None:
    """`model.layer1.0.conv1.weight` -> `model.layer1`: the module a summary groups it under."""
    if name is None or "." not in name:
        return None
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def _summarised(nodes: list[GraphNode]) -> list[GraphNode]:
    """One MODULE node per top-level module: a node belongs to the module of the parameters
    it takes directly, else to that of the first of its inputs that belongs to one (so the
    ReLU after a batch norm goes with it); the rest go to OUTSIDE."""
    group: list[str | None] = [None] * len(nodes)
    # Inputs come after the nodes that use them (breadth-first from the root), so walking
    # backwards settles every input before its users.
    for position in range(len(nodes) - 1, -1, -1):
        node = nodes[position]
        if node.kind == ACCUMULATE:
            group[position] = _module_of(node.name)
            continue
        inputs = [group[i] for i in node.next if i is not None]
        direct = [
            group[i]
            for i in node.next
            if i is not None and nodes[i].kind == ACCUMULATE and group[i] is not None
        ]
        group[position] = next(iter(direct or [g for g in inputs if g is not None]), None)
    names = list(dict.fromkeys(g or OUTSIDE for g in group))
    where = {name: position for position, name in enumerate(names)}
    inner: list[dict[str, int]] = [{} for _ in names]
    edges: list[list[int]] = [[] for _ in names]
    for position, node in enumerate(nodes):
        mine = where[group[position] or OUTSIDE]
        inner[mine][node.kind] = inner[mine].get(node.kind, 0) + 1
        for target in node.next:
            if target is None:
                continue
            theirs = where[group[target] or OUTSIDE]
            if theirs != mine and theirs not in edges[mine]:
                edges[mine].append(theirs)
    # Hundreds of top-level modules (one per variable) would still be too many: the first
    # MAX_NODES are kept, and edges to the rest dropped.
    return [
        GraphNode(MODULE, [t for t in edges[i] if t < MAX_NODES], name=name, inner=inner[i])
        for i, name in enumerate(names[:MAX_NODES])
    ]
