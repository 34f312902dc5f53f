"""The autograd graph each row carries, taken from hand-built graphs of real PyTorch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from gradquiz.format import load
from gradquiz.lab import fingerprint, graph
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import (
    GRAD_CHANGED,
    GRAD_NONE,
    GRAD_SAME,
    MODULE,
    Frame,
    Graph,
    GraphNode,
    Row,
    Snippet,
    TraceRow,
    VariantRequest,
    VariantResult,
    decode,
    encode,
    requests_for,
)
from gradquiz.lab.runner import run_variant
from tests.conftest import write

NEURON = """\
x = torch.tensor(2.0)
w = torch.tensor(0.5, requires_grad=True)
b = torch.tensor(0.1, requires_grad=True)
"""


@pytest.fixture(autouse=True)
def _engine_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A run in this process wraps torch's backward entry point; put it back afterwards."""
    engine = getattr(torch.autograd, "_engine_run_backward")  # noqa: B009 - private
    monkeypatch.setattr(torch.autograd, "_engine_run_backward", engine)
    yield


def graphs(
    code: str, setup: str = NEURON, steps: int = 1, expr: str | None = None, capture: bool = True
) -> list[Graph | None]:
    request = VariantRequest(
        question="q",
        variant="v",
        code=Snippet(code, "q.yaml", 20),
        setup=(Snippet(setup, "q.yaml", 10),),
        steps=steps,
        graph=None if expr is None else Snippet(expr, "q.yaml", 5),
        capture_graph=capture,
    )
    frames: list[Frame] = []
    done = run_variant(request, frames.append)
    assert done.error is None, done.error
    rows = [frame.row for frame in frames if isinstance(frame, TraceRow)]
    result = VariantResult("q", "v", [], rows)
    return [result.graph_at(index) for index in range(len(rows))]


def only(found: list[Graph | None]) -> Graph:
    assert len(found) == 1 and found[0] is not None
    return found[0]


def edges(taken: Graph) -> set[tuple[str, str]]:
    """(from, to) by kind, leaves by name: the graph as a person would draw it."""

    def label(node: GraphNode) -> str:
        return node.name if node.kind == graph.ACCUMULATE and node.name else node.kind

    return {
        (label(node), label(taken.nodes[i]))
        for node in taken.nodes
        for i in node.next
        if i is not None
    }


def test_the_one_neuron_graph_names_its_leaves_and_edges() -> None:
    taken = only(graphs("loss = (x * w + b).sigmoid()\nloss.backward()\n"))
    assert [n.kind for n in taken.nodes][:3] == ["SigmoidBackward0", "AddBackward0", "MulBackward0"]
    assert edges(taken) == {
        ("SigmoidBackward0", "AddBackward0"),
        ("AddBackward0", "MulBackward0"),
        ("AddBackward0", "b"),
        ("MulBackward0", "w"),
    }
    mul = taken.nodes[2]
    # x needs no gradient: its input is there, and empty (None), before w's.
    assert mul.next[0] is None and taken.nodes[mul.next[1]].name == "w"  # type: ignore[index]
    # backward freed what sigmoid and mul saved; the shapes were read just before.
    sigmoid = taken.nodes[0]
    assert sigmoid.freed and [(s.name, s.shape) for s in sigmoid.saved] == [("result", [])]
    assert mul.freed and [(s.name, s.shape) for s in mul.saved] == [("self", [])]
    leaves = {n.name: n for n in taken.nodes if n.kind == graph.ACCUMULATE}
    assert {name: leaf.grad for name, leaf in leaves.items()} == {
        "w": GRAD_CHANGED,
        "b": GRAD_CHANGED,
    }
    assert taken.unreached == [] and taken.requires_grad and taken.expr == "loss"


def test_a_graph_not_yet_backwarded_keeps_its_saved_tensors() -> None:
    taken = only(graphs("loss = (x * w + b).sigmoid()\n"))
    assert not any(n.freed for n in taken.nodes)
    leaves = {n.name: n.grad for n in taken.nodes if n.kind == graph.ACCUMULATE}
    assert leaves == {"w": GRAD_NONE, "b": GRAD_NONE}


def test_detach_cuts_the_graph_and_leaves_w_unreached() -> None:
    taken = only(graphs("loss = (x * w.detach() + b).sigmoid()\nloss.backward()\n"))
    # x * w.detach() needs no gradient at all: AddBackward0's first input is cut.
    assert [n.kind for n in taken.nodes] == ["SigmoidBackward0", "AddBackward0", "AccumulateGrad"]
    assert taken.nodes[1].next == [None, 2]
    assert taken.unreached == ["w"]


def test_no_grad_leaves_no_graph_and_every_leaf_unreached() -> None:
    taken = only(graphs("with torch.no_grad():\n    loss = (x * w + b).sigmoid()\n"))
    assert taken.nodes == [] and not taken.requires_grad
    assert taken.unreached == ["b", "w"]


def test_a_second_step_without_zero_grad_changes_the_grads_again() -> None:
    found = graphs("loss = (x * w + b).sigmoid()\nloss.backward()\n", steps=2)
    second = found[1]
    # The same graph again: sent once, found again in the row before.
    assert second is not None and second is found[0]
    assert {n.name: n.grad for n in second.nodes if n.name} == {
        "w": GRAD_CHANGED,
        "b": GRAD_CHANGED,
    }


def test_a_leaf_the_step_does_not_reach_keeps_its_grad() -> None:
    code = "loss = (w * x).sigmoid() if step == 1 else (b * x).sigmoid()\nloss.backward()\n"
    found = graphs(code, steps=2, expr="(w * x + b)")
    second = found[1]
    assert second is not None
    # The graph tensor is a fresh w * x + b: neither leaf's grad moved by making it, and only
    # b's was written in step 2.
    assert {n.name: n.grad for n in second.nodes if n.name} == {"w": GRAD_SAME, "b": GRAD_CHANGED}


def test_parameters_are_named_after_their_module() -> None:
    setup = "fc = nn.Linear(3, 1)\nmodel = nn.Sequential(fc, nn.Sigmoid())\nx = torch.ones(2, 3)\n"
    taken = only(graphs("loss = model(x).sum()\n", setup=setup))
    names = sorted(n.name for n in taken.nodes if n.kind == graph.ACCUMULATE and n.name)
    # fc.weight is shorter than model.0.weight: the name a person wrote wins.
    assert names == ["fc.bias", "fc.weight"]
    addmm = next(n for n in taken.nodes if n.kind == "AddmmBackward0")
    # The weight's gradient needs the input (mat1); the input needs none, so the weight
    # (mat2) is not saved.
    assert [(s.name, s.shape) for s in addmm.saved] == [("mat1", [2, 3])]


def test_a_frozen_parameter_is_never_reached() -> None:
    setup = "fc = nn.Linear(2, 1)\nfc.weight.requires_grad_(False)\nx = torch.ones(1, 2)\n"
    taken = only(graphs("loss = fc(x).sum()\n", setup=setup))
    assert [n.name for n in taken.nodes if n.kind == graph.ACCUMULATE] == ["fc.bias"]
    assert taken.unreached == []  # a frozen weight requires no grad: nothing missed


def test_a_graph_freed_by_the_first_backward_is_marked_freed() -> None:
    code = (
        "loss = (w * w).sum()\nloss.backward()\n"
        "try:\n    loss.backward()\nexcept RuntimeError:\n    pass\n"
    )
    taken = only(graphs(code))
    assert taken.nodes[1].kind == "MulBackward0" and taken.nodes[1].freed
    kept = only(graphs("loss = (w * w).sum()\nloss.backward(retain_graph=True)\n"))
    assert not kept.nodes[1].freed
    assert [s.name for s in kept.nodes[1].saved] == ["other", "self"]


def test_runs_leave_torch_autograd_as_they_found_it() -> None:
    """The entry point is wrapped once: a run that rebound it would move the version tag of
    torch.autograd's namespace, and every shared child would compare it entry by entry."""
    graph.wrap_backward()
    wrapped = getattr(torch.autograd, "_engine_run_backward")  # noqa: B009 - private
    tag = fingerprint._tag(vars(torch.autograd)).value
    code = "loss = (w * w).sum()\nloss.backward()\n"
    freed = only(graphs(code))
    assert freed.nodes[1].freed and [s.name for s in freed.nodes[1].saved] == ["other", "self"]
    assert getattr(torch.autograd, "_engine_run_backward") is wrapped  # noqa: B009
    assert fingerprint._tag(vars(torch.autograd)).value == tag
    # The run's capture heard its own backward only: one after the run goes straight through.
    assert graph._Watching.capture is None
    w = torch.tensor(3.0, requires_grad=True)
    (w * w).backward()  # type: ignore[no-untyped-call]
    assert w.grad is not None and w.grad.item() == 6.0


def test_no_loss_no_graph_and_a_broken_expression_says_why() -> None:
    assert graphs("y = x * w\n") == [None]
    broken = only(graphs("y = x * w\n", expr="z"))
    assert broken.error == "NameError: name 'z' is not defined" and broken.nodes == []
    not_tensor = only(graphs("y = 3\n", expr="y"))
    assert not_tensor.error == "y is a int, not a tensor"


def test_capture_off_takes_no_graph() -> None:
    assert graphs("loss = (x * w).sigmoid()\n", capture=False) == [None]


def test_a_large_graph_is_summarised_per_module() -> None:
    from gradquiz.lab.tvcompat import import_torchvision

    import_torchvision()  # as the worker does: this torchvision cannot import on CPU torch alone
    setup = (
        "import torchvision\n"
        "model = torchvision.models.resnet18(weights=None)\n"
        "x = torch.randn(2, 3, 32, 32)\n"
    )
    taken = only(graphs("loss = model(x).sum()\n", setup=setup))
    assert taken.summarised > graph.MAX_NODES
    assert all(n.kind == MODULE for n in taken.nodes)
    names = [n.name for n in taken.nodes]
    assert {"model.layer1", "model.layer4", "model.conv1", "model.fc"} <= set(names)
    total = sum(sum(n.inner.values()) for n in taken.nodes)
    assert total == taken.summarised
    fc = taken.nodes[names.index("model.fc")]
    assert fc.inner["AccumulateGrad"] == 2  # weight and bias
    layer4 = names.index("model.layer4")
    assert layer4 in fc.next or any(layer4 in taken.nodes[i].next for i in fc.next if i)
    # Small enough to send many rows of.
    assert len(encode(TraceRow(row=_row(taken)))) < 20_000


def _row(taken: Graph) -> Row:
    return Row(1, {}, taken)


def test_a_graph_crosses_the_pipe_as_data(tmp_path: object, lab: Lab) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    pack = write(
        tmp_path,
        "g.yaml",
        f"""\
questions:
  - id: g
    type: single
    title: t
    prompt: p
    topic: autograd
    answer: A
    experiment:
      setup: |
{_indent(NEURON, 8)}
      graph: hidden
      code: |
        hidden = x * w + b
        loss = hidden.sigmoid()
    choices:
      - id: A
        text: a
      - id: B
        text: b
""",
    )
    question = load([pack]).get("g")
    assert question is not None
    result = lab.run(requests_for(question)[0])
    taken = result.rows[0].graph
    assert taken is not None and taken.expr == "hidden"
    assert [n.kind for n in taken.nodes] == [
        "AddBackward0",
        "MulBackward0",
        "AccumulateGrad",
        "AccumulateGrad",
    ]
    frame = encode(TraceRow(result.rows[0]))
    assert decode(frame[4:]) == TraceRow(result.rows[0])


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def test_a_graph_like_the_row_befores_is_sent_once() -> None:
    request = VariantRequest(
        question="q",
        variant="v",
        code=Snippet("loss = (x * w).sigmoid() if step != 3 else x * b\n", "q.yaml", 20),
        setup=(Snippet(NEURON, "q.yaml", 10),),
        steps=4,
    )
    frames: list[Frame] = []
    run_variant(request, frames.append)
    rows = [frame.row for frame in frames if isinstance(frame, TraceRow)]
    assert [(r.graph is not None, r.graph_as_before) for r in rows] == [
        (True, False),
        (False, True),
        (True, False),
        (True, False),
    ]
    result = VariantResult("q", "v", [], rows)
    assert result.graph_at(1) is rows[0].graph and result.graph_at(3) is rows[3].graph
    assert result.graph_at(4) is None


def test_the_graph_a_failing_backward_ran_into_comes_with_the_error() -> None:
    request = VariantRequest(
        question="q",
        variant="v",
        code=Snippet("loss = (w * w).sum() if step == 1 else loss * 2\nloss.backward()\n", "q", 1),
        setup=(Snippet(NEURON, "q.yaml", 10),),
        steps=2,
    )
    frames: list[Frame] = []
    done = run_variant(request, frames.append)
    assert done.error is not None and done.error.step == 2
    assert "backward through the graph a second time" in done.error.message
    graph = done.graph
    assert graph is not None
    # Step 2's loss * 2 leads into step 1's graph, which step 1's backward freed (the failing
    # backward had freed its own first node before it got there).
    assert [(n.kind, n.freed) for n in graph.nodes] == [
        ("MulBackward0", True),
        ("SumBackward0", False),
        ("MulBackward0", True),
        ("AccumulateGrad", False),
    ]
    rows = [frame.row for frame in frames if isinstance(frame, TraceRow)]
    result = VariantResult("q", "v", [], rows, done.error, error_graph=graph)
    assert result.graph_at(1) is graph and result.graph_at(0) is rows[0].graph


def test_a_huge_graph_is_walked_only_so_far() -> None:
    code = "loss = w\nfor _ in range(30_000):\n    loss = loss * 1.0\n"
    taken = only(graphs(code))
    assert taken.summarised == graph.WALK_LIMIT
    [outside] = taken.nodes
    assert outside.name == graph.OUTSIDE and outside.inner == {"MulBackward0": graph.WALK_LIMIT}


def test_a_named_graph_is_taken_at_an_error_before_any_row() -> None:
    request = VariantRequest(
        question="q",
        variant="v",
        code=Snippet("hidden = x * w\nraise ValueError('stop')\n", "q.yaml", 20),
        setup=(Snippet(NEURON, "q.yaml", 10),),
        graph=Snippet("hidden", "q.yaml", 5),
    )
    done = run_variant(request, lambda frame: None)
    assert done.error is not None and done.error.type == "ValueError"
    assert done.graph is not None and done.graph.expr == "hidden"
    assert [n.kind for n in done.graph.nodes] == ["MulBackward0", "AccumulateGrad"]
    assert done.graph.unreached == ["b"]


def watched(code: str, setup: str, capture: bool, steps: int = 1) -> list[dict[str, object]]:
    """The rows' values of a run, with or without its graph taken."""
    request = VariantRequest(
        question="q",
        variant="v",
        code=Snippet(code, "q.yaml", 20),
        setup=(Snippet(setup, "q.yaml", 10),),
        steps=steps,
        watch=(("count", Snippet("count", "q.yaml", 30)),),
        capture_graph=capture,
    )
    frames: list[Frame] = []
    done = run_variant(request, frames.append)
    assert done.error is None, done.error
    return [frame.row.values for frame in frames if isinstance(frame, TraceRow)]


@pytest.mark.parametrize(
    ("setup", "code", "before_backward"),
    [
        # Checkpointing recomputes a segment when its saved tensors are read.
        (
            "from torch.utils.checkpoint import checkpoint\n"
            "w = torch.tensor([1.0, 2.0], requires_grad=True)\ncount = 0\n"
            "def segment(h):\n    global count\n    count += 1\n    return (h * w).tanh()\n",
            "loss = checkpoint(segment, w, use_reentrant=False).sum()\nrecord()\nloss.backward()\n",
            1,
        ),
        # A learner's own saved-tensor hooks count what is packed and unpacked.
        (
            "w = torch.tensor([1.0, 2.0], requires_grad=True)\ncount = 0\n"
            "def unpack(t):\n    global count\n    count += 1\n    return t\n",
            "with torch.autograd.graph.saved_tensors_hooks(lambda t: t, unpack):\n"
            "    loss = (w * w).sin().sum()\nrecord()\nloss.backward()\n",
            0,
        ),
    ],
    ids=["checkpoint", "saved-tensor hooks"],
)
def test_taking_the_graph_runs_no_saved_tensor_hook(
    setup: str, code: str, before_backward: int
) -> None:
    """The graph is a picture of the run: taking it must not change what the run computes."""
    plain = watched(code, setup, capture=False, steps=2)
    assert watched(code, setup, capture=True, steps=2) == plain
    # The forward ran the segment once (checkpoint) / unpacked nothing yet (hooks).
    assert plain[0]["count"] == before_backward


def test_the_bundled_bank_computes_the_same_with_and_without_its_graphs(lab: Lab) -> None:
    """Every bundled run's numbers, output and answers are those of the run without a graph."""
    from dataclasses import replace

    from gradquiz import locations
    from gradquiz.lab.protocol import requests_for

    library = load([locations.bundled_questions()])
    requests = [r for q in library.questions for r in requests_for(q)]

    def numbers(results: list[VariantResult]) -> list[tuple[object, ...]]:
        # repr: a NaN equals the other run's NaN.
        return [
            (
                r.question,
                r.variant,
                repr([row.values for row in r.rows]),
                repr(r.answer),
                repr(r.verify),
            )
            + ((r.error.type, r.error.step) if r.error else (None,))
            for r in results
        ]

    taken = lab.run_all(requests)
    plain = lab.run_all([replace(r, capture_graph=False) for r in requests])
    assert numbers(taken) == numbers(plain)
