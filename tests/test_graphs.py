"""The graph as a reader sees it: tree lines, the difference between two variants, DOT."""

from __future__ import annotations

import re

from gradquiz.graphs import (
    Line,
    Mark,
    compare,
    counterpart,
    dot,
    graph_at,
    keys,
    node_text,
    tree,
)
from gradquiz.lab.protocol import (
    GRAD_CHANGED,
    GRAD_NONE,
    Graph,
    GraphNode,
    Row,
    SavedTensor,
    VariantResult,
)


def neuron(detached: bool = False) -> Graph:
    """`(x * w + b).sigmoid()` as the worker sends it; `detached`: `x * w.detach() + b`."""
    sigmoid = GraphNode("SigmoidBackward0", [1], saved=[SavedTensor("result", [])], freed=True)
    if detached:
        add = GraphNode("AddBackward0", [None, 2])
        b = GraphNode("AccumulateGrad", [], "b", [], GRAD_CHANGED)
        return Graph("loss", True, [sigmoid, add, b], unreached=["w"])
    add = GraphNode("AddBackward0", [2, 3])
    mul = GraphNode("MulBackward0", [None, 4], saved=[SavedTensor("self", [])], freed=True)
    b = GraphNode("AccumulateGrad", [], "b", [], GRAD_CHANGED)
    w = GraphNode("AccumulateGrad", [], "w", [], GRAD_CHANGED)
    return Graph("loss", True, [sigmoid, add, mul, b, w])


def texts(line: Line, depth: int = 0) -> list[str]:
    marks = {Mark.SAME: " ", Mark.ONLY_HERE: "+", Mark.ONLY_THERE: "-", Mark.REPEATED: "^"}
    found = [f"{'  ' * depth}{marks[line.mark]} {line.text}"]
    for child in line.children:
        found.extend(texts(child, depth + 1))
    return found


def test_keys_name_leaves_and_paths() -> None:
    assert keys(neuron()) == [
        "SigmoidBackward0",
        "SigmoidBackward0/0:AddBackward0",
        "SigmoidBackward0/0:AddBackward0/0:MulBackward0",
        "leaf:b",
        "leaf:w",
    ]


def test_the_tree_reads_from_the_tensor_down_to_named_leaves() -> None:
    assert texts(tree(neuron())) == [
        "  loss · grad_fn SigmoidBackward0",
        "    SigmoidBackward0 · saves result [] (freed)",
        "      AddBackward0",
        "        MulBackward0 · saves self [] (freed)",
        "          w [] · AccumulateGrad · .grad written in this step",
        "        b [] · AccumulateGrad · .grad written in this step",
    ]
    leaf = tree(neuron()).children[0].children[0].children[1]
    assert leaf.grad == GRAD_CHANGED


def test_a_detach_cut_is_marked_on_both_sides() -> None:
    cut, whole = neuron(detached=True), neuron()
    seen = compare(cut, whole)
    assert seen.only_here == frozenset() and seen.unreached_here == ("w",)
    assert texts(tree(cut, seen, "A")) == [
        "  loss · grad_fn SigmoidBackward0",
        "    SigmoidBackward0 · saves result [] (freed)",
        "      AddBackward0",
        "      - input 0: MulBackward0 · saves self [] (freed), only in A",
        "        b [] · AccumulateGrad · .grad written in this step",
        "  + not reached (their .grad stays as it was): w · A reaches w",
    ]
    other = compare(whole, cut)
    assert other.only_here == frozenset({2, 4})
    lines = texts(tree(whole, other, "B"))
    assert lines[3:] == [
        "      + MulBackward0 · saves self [] (freed)",
        "        + w [] · AccumulateGrad · .grad written in this step",
        "        b [] · AccumulateGrad · .grad written in this step",
    ]


def test_without_a_variant_to_compare_nothing_is_marked() -> None:
    cut = neuron(detached=True)
    assert all(line[0] == " " for line in texts(tree(cut, compare(cut, neuron()), "")))


def test_no_grad_and_errors_say_why_there_is_no_graph() -> None:
    none = Graph("loss", False, [], unreached=["b", "w"])
    seen = compare(none, neuron())
    assert texts(tree(none, seen, "A")) == [
        "  loss · requires_grad=False: no graph behind it",
        "  - grad_fn SigmoidBackward0 · saves result [] (freed), only in A",
        "  + not reached (their .grad stays as it was): b, w · A reaches b, w",
    ]
    broken = Graph("z", False, error="NameError: name 'z' is not defined")
    assert tree(broken).text == "z: no graph (NameError: name 'z' is not defined)"


def test_a_node_reached_twice_is_shown_once() -> None:
    w = GraphNode("AccumulateGrad", [], "w", [2], GRAD_NONE)
    graph = Graph("loss", True, [GraphNode("MulBackward0", [1, 1]), w])
    lines = texts(tree(graph))
    assert lines[2:] == [
        "      w [2] · AccumulateGrad · .grad is None",
        "    ^ w [2] · AccumulateGrad · .grad is None (shown above)",
    ]


def test_a_module_summary_counts_its_nodes() -> None:
    node = GraphNode("module", [1], "model.layer1", inner={"ConvolutionBackward0": 4, "X": 1})
    assert node_text(node) == "model.layer1 (module, 5 nodes: ConvolutionBackward0×4, X×1)"


def test_the_graph_follows_the_selected_row() -> None:
    first, last = neuron(), neuron(detached=True)
    result = VariantResult("q", "A", [], [Row(1, {}, first), Row(2, {}, last), Row(3, {})])
    assert graph_at(result, 0) is first and graph_at(result, 2) is None
    assert graph_at(result, None) is last and graph_at(result, 7) is None
    assert counterpart(["A", "B", "C"], "B", "A") == "A"
    assert counterpart(["A", "B", "C"], "A", "A") == "B"
    assert counterpart(["A"], "A", None) is None


DOT_NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
DOT_EDGE = re.compile(r"^  (\w+) -> (\w+);$")


def parse_dot(text: str) -> list[tuple[str, dict[str, str], list[tuple[str, str]]]]:
    """The digraphs in `text`: name, node labels by id, edges; fails on any other line."""
    graphs: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = []
    for line in text.splitlines():
        if match := re.fullmatch(r'digraph "((?:[^"\\]|\\.)*)" \{', line):
            graphs.append((match[1], {}, []))
        elif match := DOT_NODE.fullmatch(line):
            graphs[-1][1][match[1]] = match[2].replace("\\n", "\n").replace('\\"', '"')
        elif match := DOT_EDGE.fullmatch(line):
            graphs[-1][2].append((match[1], match[2]))
        else:
            assert line in ("}", "  node [fontname=monospace];") or line.startswith("  label="), (
                line
            )
    return graphs


def test_dot_draws_every_node_and_edge_inputs_first() -> None:
    [(name, labels, edges)] = parse_dot(dot("A", neuron()))
    assert name == "A"
    assert labels == {
        "tensor": "loss",
        "n0": "SigmoidBackward0\nsaves result [] (freed)",
        "n1": "AddBackward0",
        "n2": "MulBackward0\nsaves self [] (freed)",
        "n3": "b\n[]",
        "n4": "w\n[]",
    }
    named = {(labels[a].split("\n")[0], labels[b].split("\n")[0]) for a, b in edges}
    assert named == {
        ("SigmoidBackward0", "loss"),
        ("AddBackward0", "SigmoidBackward0"),
        ("MulBackward0", "AddBackward0"),
        ("b", "AddBackward0"),
        ("w", "MulBackward0"),
    }


def test_dot_escapes_what_a_pack_names() -> None:
    leaf = GraphNode("AccumulateGrad", [], 'w"]; evil -> x; "\n', [1], GRAD_NONE)
    text = dot('B"', Graph("loss", True, [GraphNode("MulBackward0", [1]), leaf]))
    [(name, labels, edges)] = parse_dot(text)
    assert name == 'B\\"' and labels["n1"] == 'w"]; evil -> x; "\\\\x0a\n[1]'
    assert edges == [("n0", "tensor"), ("n1", "n0")]
    assert parse_dot(dot("C", None)) == [("C", {}, [])]


def test_the_error_line_shows_the_graph_the_failing_backward_ran_into() -> None:
    from gradquiz.graphs import graph_view
    from gradquiz.lab.protocol import RunError

    failed = VariantResult(
        "q",
        "B",
        [],
        [Row(1, {}, neuron(detached=True))],
        RunError("RuntimeError", "second time", 2),
        error_graph=neuron(),
    )
    right = VariantResult("q", "A", [], [Row(1, {}, neuron()), Row(2, {}, neuron(detached=True))])
    results = {"A": right, "B": failed}
    at_error = graph_view(results, "B", 1, "A")
    assert at_error.title == "the graph of B at the error (step 2); + only in B, − only in A"
    # Compared with A's step 2, whose graph was cut: w is B's alone there.
    assert at_error.root is not None
    assert "        + w [] · AccumulateGrad · .grad written in this step" in texts(at_error.root)
    # With no row named, the error's graph is the one shown.
    assert graph_view(results, "B", None, "A").title.startswith("the graph of B at the error")
    assert graph_view(results, "A", 0, "A").title.startswith("the graph of A at step 1; ")


def test_alike_graphs_say_so() -> None:
    from gradquiz.graphs import graph_view

    one = VariantResult("q", "A", [], [Row(1, {}, neuron())])
    other = VariantResult("q", "B", [], [Row(1, {}, neuron())])
    view = graph_view({"A": one, "B": other}, "B", 0, "A")
    assert view.title == "the graph of B at step 1: the same nodes and edges as A's"
    assert view.root is not None
    assert all(line[0] == " " for line in texts(view.root))


def test_another_root_is_shown_as_the_others() -> None:
    w = GraphNode("AccumulateGrad", [], "w", [], GRAD_CHANGED)
    logits = Graph("loss", True, [GraphNode("BinaryCrossEntropyWithLogitsBackward0", [1]), w])
    probabilities = Graph("loss", True, [GraphNode("BinaryCrossEntropyBackward0", [1]), w])
    lines = texts(tree(probabilities, compare(probabilities, logits), "B"))
    assert lines == [
        "  loss · grad_fn BinaryCrossEntropyBackward0",
        "  + BinaryCrossEntropyBackward0",
        "    + w [] · AccumulateGrad · .grad written in this step",
        "  - grad_fn BinaryCrossEntropyWithLogitsBackward0, only in B",
    ]


def test_a_leaf_that_lost_its_name_is_the_same_node() -> None:
    # `w = w - lr * w.grad`: the loss still reaches the old leaf, no longer called w.
    renamed = neuron()
    nodes = [*renamed.nodes[:4], GraphNode("AccumulateGrad", [], None, [], GRAD_CHANGED)]
    nameless = Graph("loss", True, nodes)
    assert compare(nameless, neuron()).none and compare(neuron(), nameless).none
    # Two named leaves in each other's place: the same leaves, other edges.
    swapped = Graph("loss", True, [*renamed.nodes[:3], renamed.nodes[4], renamed.nodes[3]])
    seen = compare(swapped, neuron())
    assert seen.only_here == frozenset() and seen.edges_only_here == {(1, 1), (2, 1)}
