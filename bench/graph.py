"""What taking the autograd graph costs: the bundled bank's runs with and without it.

Two measures, each interleaved (a run with the graph, then the same without) so a noisy spell
on the machine hits both sides alike: each run of the bank through a warm worker, as gradquiz
runs it (a fork per variant), and the experiments alone in this process, where nothing but
the runs themselves is timed.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from gradquiz import locations
from gradquiz.format import load
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import VariantRequest, requests_for


def bank_requests() -> list[VariantRequest]:
    library = load([locations.bundled_questions()])
    return [r for q in library.questions for r in requests_for(q)]


def without_graph(requests: list[VariantRequest]) -> list[VariantRequest]:
    return [replace(r, capture_graph=False) for r in requests]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def through_the_lab(requests: list[VariantRequest], repeats: int) -> tuple[float, float]:
    """Sum over the runs of each run's median time through a warm worker, with and without
    the graph, the two taken in turn run by run: on a busy machine a slow spell then hits
    both sides of the same run, not one side of the whole bank."""
    with_total = without_total = 0.0
    with Lab(1) as lab:
        lab.run_all(without_graph(requests))  # torchvision imported, first-call costs paid
        for request in requests:
            plain = replace(request, capture_graph=False)
            withs, withouts = [], []
            for _ in range(repeats):
                withs.append(timed(partial(lab.run, request)))
                withouts.append(timed(partial(lab.run, plain)))
            with_total += statistics.median(withs)
            without_total += statistics.median(withouts)
    return with_total, without_total


def in_process(requests: list[VariantRequest], repeats: int) -> tuple[float, float, int]:
    """Sum over the runs of each run's median time, with and without the graph; and how many
    runs take a row with a graph at all."""
    import torch

    from gradquiz.lab.runner import run_variant
    from gradquiz.lab.server import settle
    from gradquiz.lab.tvcompat import import_torchvision

    import_torchvision()
    # As the worker runs them: one thread, and the heap of imports frozen, so a full collection
    # walks what the runs made, not all of torch (without, each one costs tens of ms).
    torch.set_num_threads(1)
    settle()
    engine = getattr(torch.autograd, "_engine_run_backward")  # noqa: B009 - private
    with_total = without_total = 0.0
    graphs = 0
    for request in requests:
        plain = replace(request, capture_graph=False)
        withs, withouts = [], []
        frames: list[object] = []
        for _ in range(repeats):
            frames.clear()
            withs.append(timed(partial(run_variant, request, frames.append)))
            # A run in one process wraps torch's backward entry point: put it back.
            setattr(torch.autograd, "_engine_run_backward", engine)  # noqa: B010
            withouts.append(timed(partial(run_variant, plain, lambda frame: None)))
        graphs += any(getattr(getattr(f, "row", None), "graph", None) for f in frames)
        with_total += statistics.median(withs)
        without_total += statistics.median(withouts)
    return with_total, without_total, graphs


def report() -> None:
    requests = bank_requests()
    with_lab, without_lab = through_the_lab(requests, 3)
    # In a process of its own: the bank's code runs there with no fork around each run.
    done = subprocess.run(
        [sys.executable, "-m", "bench.graph"], check=True, capture_output=True, text=True
    )
    with_alone, without_alone, graphs = json.loads(done.stdout.splitlines()[-1])
    print(f"(i) the autograd graph in every row: {len(requests)} runs, {graphs} with a graph")
    line = "  {:<62} {}"
    print(line.format("the runs through a warm worker, with graphs", f"{with_lab:8.2f} s"))
    print(line.format("the same without graphs (each run's median of 3)", f"{without_lab:8.2f} s"))
    print(line.format("with / without (goal: at most 1.10x)", f"{with_lab / without_lab:8.3f}x"))
    print(line.format("the runs alone in one process, with graphs", f"{with_alone:8.2f} s"))
    print(
        line.format("the same without graphs (each run's median of 3)", f"{without_alone:8.2f} s")
    )
    print(
        line.format("with / without (goal: at most 1.10x)", f"{with_alone / without_alone:8.3f}x")
    )


if __name__ == "__main__":
    print(json.dumps(in_process(bank_requests(), 3)))
