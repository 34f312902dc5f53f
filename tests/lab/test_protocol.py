"""Every frame is declared once: each kind survives encode and decode, and decode says where
a frame written by anything else goes wrong."""

from __future__ import annotations

import typing
from dataclasses import replace

import pytest

from gradquiz.lab.protocol import (
    FRAMES,
    Columns,
    Done,
    Frame,
    FrameError,
    FrameReader,
    GetStats,
    Limits,
    Outcome,
    Prepare,
    Ready,
    Result,
    Row,
    Run,
    RunBatch,
    RunError,
    Snippet,
    Stats,
    Step,
    TraceRow,
    VariantRequest,
    VariantResult,
    decode,
    encode,
)

REQUEST = VariantRequest(
    question="q",
    variant="main",
    code=Snippet("loss.backward()", "q.yaml", 12),
    setup=(Snippet("x = 1", "q.yaml", 3),),
    seed=7,
    steps=3,
    watch=(("x.grad", Snippet("x.grad", "q.yaml", 9)),),
    verify=Snippet("trace[0]['x.grad'] == 2", "q.yaml", 20),
    answer=None,
    limits=Limits(timeout=2.5, memory_mb=512, output_chars=10, disk_mb=8, processes=4),
)
RESULT = VariantResult(
    question="q",
    variant="main",
    columns=["x.grad"],
    rows=[Row(1, {"x.grad": [[1.0, -0.5]]}), Row(2, {"x.grad": None})],
    error=RunError("RuntimeError", "boom", 2, 12),
    output="printed\n",
    verify=Outcome(value=True),
    answer=Outcome(error="NameError: name 'y' is not defined"),
    seconds=0.25,
)
EXAMPLES: list[Frame] = [
    Prepare(torchvision=True),
    Run(REQUEST),
    RunBatch([REQUEST, replace(REQUEST, variant="B")]),
    GetStats(),
    Ready(pid=4242, torch="2.13.0+cpu"),
    Result(RESULT),
    Stats(peak_rss_kb=300_000, children_peak_rss_kb=310_000),
    Step(3),
    Columns(["w.grad", "loss"]),
    TraceRow(Row(3, {"loss": 0.125, "w.grad": [[0.5]]})),
    Done(None, Outcome(value=[1, 2]), None),
    Done(None, None, None, reusable=True),
]


@pytest.mark.parametrize("frame", EXAMPLES, ids=lambda frame: frame.kind)
def test_every_frame_survives_encode_and_decode(frame: Frame) -> None:
    encoded = encode(frame)
    assert int.from_bytes(encoded[:4], "big") == len(encoded) - 4
    assert decode(encoded[4:]) == frame


def test_every_declared_frame_has_a_kind_and_an_example() -> None:
    declared = set(typing.get_args(Frame))
    assert set(FRAMES.values()) == declared
    assert {type(frame) for frame in EXAMPLES} == declared


def test_frames_arriving_in_pieces_are_put_back_together() -> None:
    data = b"".join(encode(frame) for frame in EXAMPLES)
    reader = FrameReader()
    frames = [frame for i in range(0, len(data), 7) for frame in reader.feed(data[i : i + 7])]
    assert frames == EXAMPLES and not reader.pending


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"kind": "step", "step": 1, "extra": 2}', "step has unknown fields ['extra']"),
        (b'{"kind": "step", "step": "1"}', "step.step is str, not int"),
        (b'{"kind": "columns", "columns": ["a", 2]}', "columns.columns[1] is int, not str"),
        (
            b'{"kind": "row", "row": {"step": 1, "values": {"a": 1}, "more": 0}}',
            "row.row has unknown fields ['more']",
        ),
        (b'{"kind": "ready", "pid": 1}', "ready has no 'torch'"),
        (b'{"step": 1}', "a frame of no known kind (None)"),
        (
            b"\xff",
            "a frame that is not JSON "
            "('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)",
        ),
    ],
)
def test_decode_names_the_field_that_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(FrameError) as caught:
        decode(payload)
    assert str(caught.value) == message
