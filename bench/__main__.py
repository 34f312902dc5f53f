"""`make bench`: the speed and memory goals, measured side by side in one run.

Timings on shared machines are noisy, so every figure is a ratio of two things measured
in the same run, with medians over repeats where a run is short.
"""

from __future__ import annotations

import compileall
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench import graph, history, tui
from gradquiz import locations
from gradquiz.cli.check import every_draw
from gradquiz.format import load
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import Limits, Snippet, VariantRequest, requests_for

SETUP = """\
model = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())
optimizer = optim.SGD(model.parameters(), lr=0.01)
criterion = nn.BCELoss()
x = torch.tensor([[1.0]]); y = torch.tensor([[1.0]])
"""
STEP = """\
optimizer.zero_grad()
loss = criterion(model(x), y)
loss.backward()
optimizer.step()
"""
COLD = f"""\
import torch
from torch import nn, optim
torch.manual_seed(0)
{SETUP}
for step in range(10):
{textwrap.indent(STEP, "    ")}    row = [model[0].weight.grad.tolist(), model[0].weight.tolist(),
           loss.item()]
"""
# The runs check makes (every question's sampled draws too), one after another.
FLOOR = """\
import sys
from gradquiz import locations
from gradquiz.cli.check import every_draw
from gradquiz.format import load
from gradquiz.lab.protocol import requests_for
from gradquiz.lab.runner import run_variant
from gradquiz.lab.tvcompat import import_torchvision
import_torchvision()
library = load([sys.argv[1] if len(sys.argv) > 1 else locations.bundled_questions()])
runs = [
    request
    for _, question in every_draw([q for q in library.questions if q.experiment is not None])
    for request in requests_for(question)
]
if len(sys.argv) > 2 and sys.argv[2] == "none":
    runs = []
elif len(sys.argv) > 2:
    half = int(sys.argv[2])
    runs = [
        request
        for index, request in enumerate(runs)
        if (0 if any("torch.distributed" in s.source for s in (request.code, *request.setup))
            else index % 2) == half
    ]
for request in runs:
    run_variant(request, lambda message: None)
"""
# The floor's runs split in two, one process a core, every other run each: what this machine
# gives with no isolation at all and a perfect split, the limit check can approach. The
# process-group questions all go to the first: two processes starting gloo groups at once
# meet in each other's rendezvous and wait for ever.
HALVES = ("0",), ("1",)
# The floor without its runs: the interpreter, the imports and the packs read, a part no
# number of cores shortens. Two cores can at best halve the rest.
NO_RUNS = "none"


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# The floor runs every question in one process, where gloo's process groups now and then
# wait for ever: a bound, so that the bench says so instead of hanging.
FLOOR_SECONDS = 600


def python(code: str, *args: str) -> None:
    command = [sys.executable, "-c", code, *args]
    subprocess.run(command, check=True, capture_output=True, timeout=FLOOR_SECONDS)


def side_by_side(code: str, bank: str, halves: tuple[tuple[str, ...], ...]) -> None:
    """`code` in a process per half at once, one intra-op thread each (as check's servers),
    so that neither takes a share of the other's core."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", code, bank, *half],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for half in halves
    ]
    try:
        for process in started:
            if process.wait(timeout=FLOOR_SECONDS) != 0:
                raise subprocess.CalledProcessError(process.returncode, process.args)
    finally:
        # A half stuck past its bound must not outlive the bench.
        for process in started:
            process.kill()
            process.wait()


def gradquiz_check(bank: Path | None = None) -> None:
    where = [] if bank is None else ["--no-bundled", str(bank)]
    command = [sys.executable, "-m", "gradquiz", "check", *where]
    subprocess.run(command, check=True, capture_output=True)


QUESTION_ID = re.compile(r"^(  - id: )(\S+)$", re.MULTILINE)
# Not copied: the bare floor runs every copy in one process, where a second copy of these
# process-group questions waits for ever on the gloo state the first left behind.
NOT_REPLICATED = {"17-distributed.yaml"}


def replicated_bank(directory: Path, questions: int) -> Path:
    """The bundled packs copied under new question ids until there are at least `questions`."""
    bundled = [
        path
        for path in sorted(locations.bundled_questions().glob("*.yaml"))
        if path.name not in NOT_REPLICATED
    ]
    per_copy = len(load(bundled).questions)
    for copy in range(-(-questions // per_copy)):
        for source in bundled:
            text = QUESTION_ID.sub(rf"\g<1>\g<2>-copy{copy}", source.read_text())
            (directory / f"copy{copy}-{source.name}").write_text(text)
    return directory


def line(label: str, value: str) -> None:
    print(f"  {label:<62} {value}")


def warm_versus_cold(lab: Lab) -> None:
    request = VariantRequest(
        question="bench",
        variant="main",
        code=Snippet(STEP, "bench", 1),
        setup=(Snippet(SETUP, "bench", 1),),
        steps=10,
        watch=(
            ("w.grad", Snippet("model[0].weight.grad", "bench", 1)),
            ("w", Snippet("model[0].weight", "bench", 1)),
            ("loss", Snippet("loss", "bench", 1)),
        ),
    )
    lab.run(request)
    warm = median_seconds(lambda: lab.run(request), 30)
    cold = median_seconds(lambda: python(COLD), 5)
    print("(a) a 10-step experiment")
    line("warm worker (median of 30)", f"{warm * 1000:8.1f} ms")
    line("cold python process (median of 5)", f"{cold * 1000:8.1f} ms")
    line("cold / warm (goal: at least 20x)", f"{cold / warm:8.1f}x")
    forever = replace(request, code=Snippet("while True:\n    pass\n", "bench", 1))
    forever = replace(forever, limits=Limits(timeout=1.0))
    looped = median_seconds(lambda: lab.run(forever), 3)
    after = median_seconds(lambda: lab.run(request), 5)
    line("a snippet that loops forever, timeout 1 s (median of 3)", f"{looped * 1000:8.1f} ms")
    line("the same 10-step experiment right after it (median of 5)", f"{after * 1000:8.1f} ms")


def check_versus_floor(bank: Path | None = None, repeats: int = 5) -> None:
    """`gradquiz check` on `bank` (the bundled packs if None) against the bare floor, the
    floor split over the cores (see HALVES), and the floor's part that no split shortens
    (see NO_RUNS)."""
    library = load([bank or locations.bundled_questions()])
    runs = sum(len(requests_for(q)) for _, q in every_draw(library.questions))
    where = str(bank or locations.bundled_questions())
    sides: dict[str, Callable[[], object]] = {
        "check": lambda: gradquiz_check(bank),
        "floor": lambda: python(FLOOR, where),
        "halves": lambda: side_by_side(FLOOR, where, HALVES),
        "fixed": lambda: python(FLOOR, where, NO_RUNS),
    }
    times: dict[str, list[float]] = {side: [] for side in sides}
    # Interleaved, so a noisy spell on the machine hits every side alike, and the sides take
    # turns going first: the command that runs after another finds caches it warmed.
    order = list(sides)
    for round_ in range(repeats):
        for side in order[round_ % len(order) :] + order[: round_ % len(order)]:
            times[side].append(median_seconds(sides[side], 1))
    check, floor, halves, fixed = (statistics.median(times[side]) for side in sides)
    packs = "the bundled packs" if bank is None else "the bundled packs replicated"
    print(f"(b) gradquiz check on {packs} ({len(library.questions)} questions, {runs} runs)")
    line(f"gradquiz check (median of {repeats}, interleaved)", f"{check:8.2f} s")
    line(f"bare sequential floor, one process (median of {repeats})", f"{floor:8.2f} s")
    line("check / floor (goal: at most 0.8x; below 1 wins)", f"{check / floor:8.2f}x")
    line(
        f"the floor's runs halved, two processes at once (median of {repeats})", f"{halves:8.2f} s"
    )
    line("halves / floor: this machine's limit, with no isolation", f"{halves / floor:8.2f}x")
    line(
        f"the floor with no runs: start, imports, packs (median of {repeats})",
        f"{fixed:8.2f} s",
    )
    # Check's own start overlaps reading the packs with torch's import, so it may come in a
    # little under this; every run costs it at least what it costs the floor.
    ideal = (fixed + (floor - fixed) / 2) / floor
    line("(that + half the rest) / floor: two cores at no cost", f"{ideal:8.2f}x")


def check_goal() -> None:
    """(b) on the bundled packs and on the 1,000-question bank."""
    check_versus_floor()
    with tempfile.TemporaryDirectory(prefix="gradquiz-bench-bank-") as directory:
        check_versus_floor(replicated_bank(Path(directory), 1000), repeats=3)


CLI_PEAK = """\
import resource, sys
from gradquiz.cli import main
code = main(["check"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(lab: Lab) -> None:
    library = load([locations.bundled_questions()])
    lab.run_all([r for q in library.questions for r in requests_for(q)])
    stats = [worker.stats() for worker in lab.workers]
    done = subprocess.run(
        [sys.executable, "-c", CLI_PEAK], check=True, capture_output=True, text=True
    )
    cli_kb = int(done.stdout.split()[-1])
    print("(c) peak resident memory")
    line("gradquiz check, its own process (no torch)", f"{cli_kb / 1024:8.1f} MiB")
    line(
        "worker (torch imported, forks variants)",
        f"{max(s['peak_rss_kb'] for s in stats) / 1024:8.1f} MiB",
    )
    line(
        "largest single variant (forked child)",
        f"{max(s['children_peak_rss_kb'] for s in stats) / 1024:8.1f} MiB",
    )


def first_paint(runs: int) -> None:
    # Bytecode for our own modules, as an installed wheel has (pip compiles it) and as Python
    # writes on a first run: with PYTHONDONTWRITEBYTECODE set, an editable checkout would
    # compile every module of ours on every start, which Textual's never are.
    compileall.compile_dir(locations.PACKAGE, quiet=1)
    # Interleaved, so a noisy spell on the machine hits both sides alike.
    minimals, gradquizzes = [], []
    for _ in range(runs):
        minimals.append(tui.first_paint([sys.executable, "-c", tui.MINIMAL], tui.MINIMAL_DRAWN))
        gradquizzes.append(tui.first_paint([tui.GRADQUIZ], tui.QUESTION_DRAWN))
    minimal, gradquiz = statistics.median(minimals), statistics.median(gradquizzes)
    print("(d) time to first paint, in a 120x40 pseudo-terminal")
    line(
        f"minimal Textual app: header, one line, footer keys (median of {runs})",
        f"{minimal * 1000:8.0f} ms",
    )
    line(
        f"gradquiz, bundled packs: first question, footer keys (median of {runs})",
        f"{gradquiz * 1000:8.0f} ms",
    )
    line("gradquiz / minimal (goal: at most 1.5x)", f"{gradquiz / minimal:8.2f}x")


def the_app() -> None:
    first_paint(9)
    enter, count = tui.enter_to_tables_median()
    print("(e) Enter to both tables drawn, worker warm")
    line(f"median over {count} questions (goal: at most 100 ms)", f"{enter * 1000:8.1f} ms")
    edited, plain, runs = tui.edit_to_table_median()
    print("(e2) ctrl+r to an edited run's table drawn, worker warm")
    line(f"median over {runs} runs (goal: at most 150 ms)", f"{edited * 1000:8.1f} ms")
    line(f"the same run sent straight to the lab (median of {runs})", f"{plain * 1000:8.1f} ms")
    answering_at_once(3)
    lab_draws()
    print("(f) the app's own process")
    line("peak memory after answering (goal: under 100 MB)", f"{tui.app_memory():8.1f} MiB")


def answering_at_once(repeats: int) -> None:
    firsts, seconds, labelled = tui.first_answers(repeats)
    print("(e3) Enter to tables, answering as soon as the first question is drawn (120x40 pty)")
    line(
        f"first launch, nothing kept (median of {repeats})",
        f"{statistics.median(firsts) * 1000:8.0f} ms",
    )
    line(
        f"next launch, its result kept (median of {repeats}; goal: at most 1000 ms)",
        f"{statistics.median(seconds) * 1000:8.0f} ms",
    )
    line("second launches that showed a kept result", f"{labelled:>5} of {repeats}")


def lab_draws() -> None:
    before, now = tui.lab_draws_median()
    print(f"(h) the lab of a 6-choice question drawn ({tui.SIX_CHOICES}), CPU, median of 15")
    line("tables only, as the lab drew before it showed code", f"{before * 1000:8.1f} ms")
    line("headings, code, explanations, comparison and plot", f"{now * 1000:8.1f} ms")
    line("with everything / tables only (goal: at most 1.5x)", f"{now / before:8.2f}x")


def main(argv: list[str]) -> None:
    """`python -m bench` runs everything; `paint [RUNS]` only the first paint (d); `first
    [RUNS]` only the first answer (e3); `app` the app's numbers (d, e, e2, e3, h, f); `lab`
    only the lab's drawing (h); `check` check against the floor on the bundled packs and the
    1,000-question bank (b); `history` the commands over years of answers (g); `graph` what
    taking the autograd graph costs (i)."""
    # The apps measured answer questions: their progress goes to a throwaway home, never to
    # the learner's own.
    os.environ["GRADQUIZ_HOME"] = tempfile.mkdtemp(prefix="gradquiz-bench-")
    if argv[:1] == ["paint"]:
        first_paint(int(argv[1]) if len(argv) > 1 else 9)
        return
    if argv == ["lab"]:
        lab_draws()
        return
    if argv[:1] == ["first"]:
        answering_at_once(int(argv[1]) if len(argv) > 1 else 3)
        return
    if argv == ["app"]:
        the_app()
        return
    if argv == ["check"]:
        check_goal()
        return
    if argv[:1] == ["bank"]:
        # `bank DIR`: write the 1,000-question bank there, to time it with other tools.
        replicated_bank(Path(argv[1]), 1000)
        return
    if argv == ["history"]:
        history.report(Path(os.environ["GRADQUIZ_HOME"]))
        return
    if argv == ["graph"]:
        graph.report()
        return
    if argv:
        raise SystemExit(
            "usage: python -m bench [paint [RUNS] | first [RUNS] | app | lab | history | graph "
            "| check | bank DIR]"
        )
    with Lab() as lab:
        lab.torch_version  # noqa: B018 - start-up is not what is measured
        warm_versus_cold(lab)
    # Nothing of ours stays up while check and the floor compete for the cores.
    check_goal()
    with Lab() as lab:
        memory(lab)
    the_app()
    history.report(Path(os.environ["GRADQUIZ_HOME"]))
    graph.report()


if __name__ == "__main__":
    main(sys.argv[1:])
