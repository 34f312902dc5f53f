"""The worker process: imports torch once, then serves runs as a fork server (see server).

Run by gradquiz (see client.worker_command) as `python -I -c BOOTSTRAP PATH IN:OUT [IN:OUT ...]`;
it serves frames (see protocol) on each pipe pair, one server per pair, the extra ones forked
from the first so they share its torch import. gradquiz starts it before it reads the packs:
the worker imports torch meanwhile, then waits for their Prepare frame on the first pair,
which says whether torchvision must be imported before the servers fork.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import traceback

from gradquiz.lab import caps, enclosure, hugepages
from gradquiz.lab.protocol import RUN_THREADS, FrameError, Prepare, read_frame
from gradquiz.lab.server import Server, import_torchvision, settle


def _warm_up() -> None:
    """Run one tiny training step so the first-call costs are paid before any fork.

    One intra-op thread: the parent must not start thread pools that a fork would copy
    half-alive, and tiny experiments gain nothing from more.
    """
    import torch

    torch.set_num_threads(RUN_THREADS)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = torch.nn.functional.mse_loss(model(torch.ones(1, 1)), torch.zeros(1, 1))
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    optimizer.zero_grad()
    # An optimizer class wraps its own `step` the first time one is made: made here, no
    # child changes torch (which would end its sharing, see fingerprint).
    kinds = [k for k in vars(torch.optim).values() if isinstance(k, type)]
    for kind in kinds:
        if issubclass(kind, torch.optim.Optimizer) and kind is not torch.optim.Optimizer:
            with contextlib.suppress(Exception):
                kind([torch.zeros(1, requires_grad=True)])  # type: ignore[call-arg]


def import_torch() -> threading.Thread:
    """Import and warm up once, so that every server and every child forked later has it;
    the thread that collapses torch's memory meanwhile (see settle), to be joined."""
    import torch

    collapsing = hugepages.collapse_meanwhile()
    # gradcheck imports this on first use: imported by a run, it would end the run's child
    # (see fingerprint).
    import torch._subclasses.schema_check_mode  # noqa: F401

    import gradquiz.lab.fingerprint
    import gradquiz.lab.runner  # noqa: F401
    from gradquiz.lab.graph import wrap_backward

    # Wrapped by a child's first run instead, torch would change there, which ends the child's
    # sharing (see fingerprint).
    wrap_backward()
    _warm_up()
    return collapsing


def prepare(torchvision: bool) -> None:
    """What every server shares besides torch, and the worker made cheap to fork."""
    if torchvision:
        import_torchvision()
    settle()


def wait_for_plan(fd: int) -> Prepare | None:
    """gradquiz's Prepare frame, or None when it went away before it sent one."""
    try:
        frame = read_frame(fd)
    except FrameError:
        return None
    return frame if isinstance(frame, Prepare) else None


def clone(pair: tuple[int, int], others: list[tuple[int, int]], lab: caps.LabDirectory) -> None:
    """Fork a server for `pair` that shares this process's imports instead of repeating them.

    Forked twice, so the server belongs to no one here: this process never has to reap it.
    """
    if os.fork() == 0:
        if os.fork() == 0:
            for fd in (fd for other in others for fd in other):
                with contextlib.suppress(OSError):  # those of earlier clones are closed
                    os.close(fd)
            try:
                Server(*pair, lab).serve()
            finally:
                os._exit(0)
        os._exit(0)
    os.wait()
    for fd in pair:
        os.close(fd)


def main() -> None:
    """`python -m gradquiz.lab.worker IN:OUT [IN:OUT ...]`: one server per pair."""
    pairs = [(int(a), int(b)) for a, b in (argument.split(":") for argument in sys.argv[1:])]
    # Keep anything torch prints away from the terminal gradquiz draws on; stderr goes to a
    # file gradquiz reads should the worker die.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    # Ctrl-C in gradquiz's terminal is gradquiz's to handle; SIGTERM is how it stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate)
    # Before anything else, so that the outside stays a small process.
    enclosure.enter()
    # Importing torch makes objects that live as long as the worker: looking through them
    # for garbage, again and again as they come, took a quarter of the start.
    gc.disable()
    lab = caps.LabDirectory()
    collapsing = import_torch()
    plan = wait_for_plan(pairs[0][0])
    if plan is None:
        lab.leave()
        os._exit(0)
    collapsing.join()
    prepare(plan.torchvision)
    gc.enable()
    for index, pair in enumerate(pairs[1:], start=1):
        clone(pair, [p for i, p in enumerate(pairs) if i != index], lab)
    code = 0
    try:
        Server(*pairs[0], lab).serve()
    except SystemExit:
        pass
    except BaseException:
        traceback.print_exc()  # gradquiz quotes it should the worker die
        code = 1
    # The server has cleaned up; tearing torch down as the interpreter exits would only keep
    # gradquiz waiting (a third of a second).
    sys.stderr.flush()
    os._exit(code)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
