"""The app's numbers: first paint against a minimal Textual app, Enter to tables, memory."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, TabbedContent, TabPane, TextArea
from textual_plotext import PlotextPlot

from gradquiz import display, locations
from gradquiz.format import load, load_first
from gradquiz.lab.protocol import VariantResult
from gradquiz.playground import Problem
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.screens.editor import EditorScreen, ExperimentScreen
from gradquiz.tui.widgets.lab import LabPanel

MINIMAL = """\
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App[None]):
    TITLE = "gradquiz"

    def compose(self):
        yield Header()
        yield Static("one line")
        yield Footer()

Minimal().run()
"""
GRADQUIZ = str(Path(sys.executable).with_name("gradquiz"))


class Terminal:
    """A program in a pseudo-terminal of 120x40, read as a person's terminal would be."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        os.set_blocking(self.master, False)
        env = {
            **os.environ,
            **(env or {}),
            "TERM": "xterm-256color",
            "COLUMNS": "120",
            "LINES": "40",
        }
        subprocess.run(["stty", "cols", "120", "rows", "40"], stdin=slave, check=True)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, seconds: float = 60) -> float:
        """Seconds from start until `text` is on the screen."""
        deadline = time.perf_counter() + seconds
        needle = text.encode()
        while needle not in self.seen:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{text!r} did not appear")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 1 << 16)
                except OSError:
                    raise TimeoutError(f"the program ended before {text!r}") from None
        return time.perf_counter() - self.started

    def watch(self, seconds: float) -> None:
        """Read what the program draws for `seconds`, as a person looking at it."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 1 << 16)
                except OSError:
                    return

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def peak_memory_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def close(self) -> None:
        self.type("\x11")  # ctrl+q
        # Read on while it quits: a program whose last frames fill an unread terminal blocks
        # writing them and never exits.
        deadline = time.perf_counter() + 10
        while self.process.poll() is None and time.perf_counter() < deadline:
            self.watch(0.05)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self.master)


# Each app's screen is drawn once all of these are on it: the header's title, the body (the
# question's position and state at the top, its experiment's status at the bottom) and the
# footer's keys, which Textual draws a frame after the rest.
MINIMAL_DRAWN = ("gradquiz", "one line", "palette")
QUESTION_DRAWN = ("gradquiz", "· new", "Experiment", "Submit")


def first_paint(command: list[str], drawn: tuple[str, ...]) -> float:
    """Seconds until every text of `drawn` is on the screen."""
    terminal = Terminal(command)
    try:
        return max(terminal.wait_for(text) for text in drawn)
    finally:
        terminal.close()


def app_memory() -> float:
    """Peak memory of the app's own process after answering a question and drawing its lab."""
    terminal = Terminal([GRADQUIZ])
    try:
        terminal.wait_for("Experiment: ready", seconds=120)
        terminal.type("1")
        terminal.type("\r")
        terminal.wait_for("step", seconds=60)
        time.sleep(1)
        return terminal.peak_memory_mib()
    finally:
        terminal.close()


# gradquiz as a learner starts it, writing the time (time.time()) to the file named by its
# argument whenever the tables of an answered question are drawn.
TIMED_GRADQUIZ = """\
import sys, time
from gradquiz.cli import main
from gradquiz.tui import app

marks = sys.argv.pop(1)

class Timed(app.GradquizApp):
    def on_lab_panel_tables_drawn(self, message):
        question = self.quiz.question
        if question is not None and self.quiz.answered(question) is not None:
            with open(marks, "a") as out:
                out.write(f"{time.time()}\\n")

app.GradquizApp = Timed
sys.exit(main())
"""


def answer_at_once(home: Path, question: str, linger: float) -> tuple[float, bool]:
    """Start gradquiz at `question` with `home` as its data directory, pick the first choice
    and press Enter as soon as the question is drawn: seconds from Enter to the tables drawn,
    and whether a kept result was shown. Then watch `linger` seconds as the learner reads
    (the fresh run comes back), and quit."""
    marks = home / "tables-drawn"
    marks.unlink(missing_ok=True)
    # At a named question: without one, a second launch moves to where the learner left off
    # once progress is read, and keys pressed at that moment go to either question.
    command = [sys.executable, "-c", TIMED_GRADQUIZ, str(marks), "--question", question]
    terminal = Terminal(command, env={"GRADQUIZ_HOME": str(home)})
    try:
        for text in QUESTION_DRAWN:
            terminal.wait_for(text)
        pressed = time.time()
        terminal.type("1")
        terminal.type("\r")
        deadline = time.perf_counter() + 120
        while not (marks.exists() and marks.read_text().strip()):
            if time.perf_counter() > deadline:
                raise TimeoutError("the tables were never drawn")
            terminal.watch(0.005)
        drawn = float(marks.read_text().split()[0])
        terminal.watch(linger)
        return drawn - pressed, b"kept result" in terminal.seen
    finally:
        terminal.close()


def first_answers(repeats: int) -> tuple[list[float], list[float], int]:
    """Enter to tables, answering the bundled first question at once: on a first launch
    (nothing kept) and on the launch after it (the same data directory, so the first launch's
    fresh runs are kept). Returns both lists of seconds and how many second launches showed a
    kept result."""
    question = load_first([locations.bundled_questions()]).questions[0].id
    firsts, seconds, labelled = [], [], 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="gradquiz-bench-first-") as directory:
            home = Path(directory)
            first, _kept = answer_at_once(home, question, linger=0.5)
            second, kept = answer_at_once(home, question, linger=0.5)
        firsts.append(first)
        seconds.append(second)
        labelled += kept
    return firsts, seconds, labelled


class TimedApp(GradquizApp):
    """The app, noting when each question's tables are drawn."""

    drawn_at: float | None = None

    def on_lab_panel_tables_drawn(self, message: LabPanel.TablesDrawn) -> None:
        self.drawn_at = time.perf_counter()


async def enter_to_tables(lab: SharedLab, question_id: str) -> float:
    library = load([locations.bundled_questions()])
    app = TimedApp(library, lambda q: True, question_id, None, lab=lab)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):
            if app.quiz.results(question_id) and not app.quiz.running(question_id):
                break
            await pilot.pause(0.05)
        await pilot.press("1")
        started = time.perf_counter()
        await pilot.press("enter")
        while app.drawn_at is None:
            await pilot.pause(0.001)
        return app.drawn_at - started


def choice_questions(count: int) -> list[str]:
    """The first `count` bundled questions whose choices each run their own variant."""
    library = load([locations.bundled_questions()])
    return [
        q.id
        for q in library.questions
        if q.type in ("single", "multiple") and q.has_choice_variants and len(q.choices) >= 2
    ][:count]


def enter_to_tables_median(count: int = 10) -> tuple[float, int]:
    chosen = choice_questions(count)
    lab = SharedLab()
    try:
        times = [asyncio.run(enter_to_tables(lab, question_id)) for question_id in chosen]
    finally:
        lab.close()
    return statistics.median(times), len(times)


class TimedEdits(GradquizApp):
    """The app, noting when an edited run's table is drawn."""

    drawn_at: float | None = None

    def on_experiment_screen_run_drawn(self, message: ExperimentScreen.RunDrawn) -> None:
        self.drawn_at = time.perf_counter()


async def edits_to_table(
    lab: SharedLab, question_id: str, repeats: int
) -> list[tuple[float, float]]:
    """For each repeat: ctrl+r to the edited run's table drawn, and the same run sent straight
    to the lab (the floor the screen adds to)."""
    library = load([locations.bundled_questions()])
    app = TimedEdits(library, lambda q: True, question_id, None, lab=lab)
    timings: list[tuple[float, float]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):
            if app.quiz.results(question_id) and not app.quiz.running(question_id):
                break
            await pilot.pause(0.05)
        await pilot.press("1", "enter")
        await pilot.pause(0.2)
        await pilot.press("e")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, EditorScreen)
        screen.query_one("#code", TextArea).insert("edited = True\n", (0, 0))
        texts = screen.texts()
        assert not isinstance(texts, Problem), texts
        request = screen.request(texts)
        for _ in range(repeats):
            app.drawn_at = None
            started = time.perf_counter()
            await pilot.press("ctrl+r")
            while app.drawn_at is None:
                await pilot.pause(0.001)
            edited = app.drawn_at - started
            started = time.perf_counter()
            lab.run_all([request])
            timings.append((edited, time.perf_counter() - started))
    return timings


def edit_to_table_median(count: int = 4, repeats: int = 5) -> tuple[float, float, int]:
    """Medians of ctrl+r to the edited run's table, and of the plain run, worker warm."""
    chosen = choice_questions(count)
    lab = SharedLab()
    try:
        lab.start()
        timings = [t for q in chosen for t in asyncio.run(edits_to_table(lab, q, repeats))]
    finally:
        lab.close()
    edited, plain = zip(*timings, strict=True)
    return statistics.median(edited), statistics.median(plain), len(timings)


# The 6-choice question the lab is timed on, and how many draws make a median.
SIX_CHOICES = "zero-grad-equivalent-clearing-lines"


class TablesOnly(Vertical):
    """What the lab drew before it showed code: a table per variant (in tabs, as six did not
    fit side by side) and the plot. Kept here as the yardstick the lab is held to."""

    def __init__(self, results: dict[str, VariantResult]) -> None:
        super().__init__()
        self.results = results

    def compose(self) -> ComposeResult:
        with TabbedContent():
            for variant in self.results:
                with TabPane(variant):
                    yield DataTable()
        yield PlotextPlot()

    def on_mount(self) -> None:
        for table, result in zip(self.query(DataTable), self.results.values(), strict=True):
            table.add_column("step")
            for column in result.columns:
                table.add_column(column)
            for row in result.rows:
                table.add_row(
                    str(row.step), *(display.cell(row.values.get(c)) for c in result.columns)
                )


async def lab_draws(lab: SharedLab, draws: int) -> tuple[float, float]:
    """Median CPU seconds to draw the 6-choice question's lab: tables only, and everything."""
    library = load([locations.bundled_questions()])
    app = GradquizApp(library, lambda q: True, SIX_CHOICES, None, lab=lab)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(600):
            if app.quiz.results(SIX_CHOICES) and not app.quiz.running(SIX_CHOICES):
                break
            await pilot.pause(0.05)
        results = app.quiz.results(SIX_CHOICES)
        question = app.quiz.question
        assert question is not None and len(results) == 6
        body = app.screen.query_one("#body")

        # CPU seconds of the app's own process: on a machine others share, wall time
        # mostly measures the neighbours.
        async def drawn(widget: Widget, then: Callable[[], Awaitable[object]]) -> float:
            started = time.process_time()
            await body.mount(widget)
            await then()
            painted = asyncio.Event()
            app.call_after_refresh(painted.set)
            await painted.wait()
            seconds = time.process_time() - started
            await widget.remove()
            return seconds

        async def nothing() -> None:
            return None

        before, now = [], []
        for _ in range(draws):
            before.append(await drawn(TablesOnly(results), nothing))
            panel = LabPanel(question)
            now.append(await drawn(panel, partial(panel.show_results, results)))
    return statistics.median(before), statistics.median(now)


def lab_draws_median(draws: int = 15) -> tuple[float, float]:
    lab = SharedLab()
    try:
        return asyncio.run(lab_draws(lab, draws))
    finally:
        lab.close()
