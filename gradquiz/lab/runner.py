"""Runs one variant of an experiment. Lives in a forked child of the worker, so anything the
snippet does to torch, to modules or to the process ends with the child."""

from __future__ import annotations

import ast
import random
import sys
import traceback
from collections.abc import Callable
from types import CodeType, TracebackType
from typing import Any

import torch
from torch import nn, optim
from torch.nn import functional

from gradquiz.lab.graph import GraphCapture
from gradquiz.lab.protocol import (
    Columns,
    Done,
    Frame,
    Graph,
    Outcome,
    Row,
    RunError,
    Snippet,
    Step,
    TraceRow,
    VariantRequest,
)

REPR_CHARS = 2000
# The graph tensor of an experiment that names none, when its namespace has one.
DEFAULT_GRAPH = "loss"


def plain(value: Any) -> Any:
    """A watched value as plain JSON-ready Python, keeping full precision."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.is_complex() or tensor.is_sparse or tensor.is_quantized or tensor.is_meta:
            return _repr(tensor)
        return tensor.cpu().tolist()
    if isinstance(value, int) and not isinstance(value, bool) and not _is_number(value):
        return _repr(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return printable_anywhere(value)
    if isinstance(value, list | tuple) and all(isinstance(v, bool | int | float) for v in value):
        return [plain(v) for v in value]
    return _repr(value)


def _is_number(value: int) -> bool:
    """Small enough for the float every reader compares it as (10**400 is not)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def printable_anywhere(text: str) -> str:
    """`text` with lone surrogates spelled out (\\udc80): they cannot be written as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a snippet's own __repr__ may raise anything, sys.exit too
        text = f"<unrepresentable {type(value).__name__}: {_describe(exc)}>"
    text = printable_anywhere(text)
    return text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "…"


def _describe(exc: BaseException) -> str:
    """`Type: message` of an exception, even one whose own __str__ raises."""
    try:
        message = str(exc)
    except BaseException:
        message = "(its message could not be shown)"
    name = type(exc).__name__
    return printable_anywhere(f"{name}: {message}" if message else name)


def compile_snippet(snippet: Snippet, mode: str) -> CodeType:
    """Compile with line numbers shifted so tracebacks name lines of the question file."""
    tree = ast.parse(snippet.source, snippet.file, mode)
    assert isinstance(tree, ast.Module | ast.Expression)
    ast.increment_lineno(tree, snippet.line - 1)
    code: CodeType = compile(tree, snippet.file, mode, flags=0, dont_inherit=True)
    return code


class StopRun(Exception):
    """Raised out of the step loop once an error has been recorded."""


class Run:
    """One variant's namespace, trace and error, filled as its steps run."""

    def __init__(self, request: VariantRequest, emit: Callable[[Frame], None]) -> None:
        self.request = request
        self.emit = emit
        self.step = 0
        self.rows: list[Row] = []
        self.recorded_this_step = False
        self.columns: list[str] | None = None
        self.watch: list[tuple[str, CodeType]] = []
        self.error: RunError | None = None
        self.namespace: dict[str, Any] = {
            "__name__": "__gradquiz__",
            "torch": torch,
            "nn": nn,
            "F": functional,
            "optim": optim,
            "record": self.record,
            "step": 0,
        }
        self.namespace.update(request.params)
        self.graph: CodeType | None = None
        self.graphs = GraphCapture()
        self.last_graph: Graph | None = None
        self.error_graph: Graph | None = None

    def record(self) -> None:
        """Take a row of the trace now (question code calls this as `record()`)."""
        self.recorded_this_step = True
        self._take_row()

    def _take_row(self) -> None:
        if self.columns is None:
            self.choose_columns()
        values = {}
        for label, expr in self.watch:
            try:
                values[label] = plain(eval(expr, self.namespace))
            except BaseException as exc:  # sys.exit() in a watch is its value too
                values[label] = f"<{_describe(exc)}>"
        graph = self.take_graph()
        if graph is not None and graph == self.last_graph:
            row = Row(self.step, values, graph_as_before=True)
        else:
            row = Row(self.step, values, graph)
        self.last_graph = graph
        self.rows.append(row)
        self.emit(TraceRow(row))

    def take_graph(self) -> Graph | None:
        """The graph behind the graph tensor now; None when there is none to take."""
        request = self.request
        if not request.capture_graph:
            return None
        if request.graph is None:
            if DEFAULT_GRAPH not in self.namespace:
                return None
            return self.graphs.capture(DEFAULT_GRAPH, self.namespace[DEFAULT_GRAPH], self.namespace)
        expr = request.graph.source.strip()
        try:
            if self.graph is None:
                self.graph = compile_snippet(request.graph, "eval")
            value = eval(self.graph, self.namespace)
        except BaseException as exc:  # as a watch's: sys.exit() in it is its outcome
            return Graph(expr, False, error=_describe(exc))
        return self.graphs.capture(expr, value, self.namespace)

    def graph_at_error(self) -> Graph | None:
        """The graph as the step failed: what a second backward ran into. Taking it must not
        turn the run's error into another one."""
        try:
            return self.take_graph()
        except Exception:
            return None

    def choose_columns(self) -> None:
        request = self.request
        if request.watch is not None:
            self.watch = [(label, compile_snippet(s, "eval")) for label, s in request.watch]
        else:
            self.watch = default_watch(self.namespace)
        self.columns = [label for label, _ in self.watch]
        self.emit(Columns(self.columns))

    def fail(self, exc: BaseException) -> None:
        kind, _, message = _describe(exc).partition(": ")
        self.error = RunError(kind, message, self.step, _question_line(exc, self.request))

    def execute(self) -> None:
        request = self.request
        try:
            for snippet in request.setup:
                exec(compile_snippet(snippet, "exec"), self.namespace)
            code = compile_snippet(request.code, "exec")
        except BaseException as exc:  # sys.exit() in a snippet is its result too
            self.fail(exc)
            return
        for step in range(1, request.steps + 1):
            self.step = step
            self.namespace["step"] = step
            self.recorded_this_step = False
            self.graphs.begin_step()
            self.emit(Step(step))
            try:
                exec(code, self.namespace)
            except BaseException as exc:
                self.fail(exc)
                self.error_graph = self.graph_at_error()
                return
            if not self.recorded_this_step:
                self._take_row()

    def evaluate(self, snippet: Snippet | None, number: bool = False) -> Outcome | None:
        """The value of a verify or answer expression; `number`: it must fit a float."""
        if snippet is None:
            return None
        scope = dict(self.namespace)
        scope["trace"] = [dict(row.values) for row in self.rows]
        scope["error"] = str(self.error) if self.error else None
        try:
            value = eval(compile_snippet(snippet, "eval"), scope)
        except BaseException as exc:  # sys.exit() or KeyboardInterrupt: an error like any
            return Outcome(error=_describe(exc))
        if number and isinstance(value, int) and not _is_number(value):
            digits = len(str(value)) if abs(value) < 10**4000 else "thousands of"
            return Outcome(error=f"OverflowError: an integer of {digits} digits is too large")
        return Outcome(value=plain(value))


def default_watch(namespace: dict[str, Any]) -> list[tuple[str, CodeType]]:
    """`<name>.grad` and `<name>` for each parameter of `model`, then `loss`."""
    watch = []
    model = namespace.get("model")
    if isinstance(model, nn.Module):
        for name, _ in model.named_parameters():
            getter = f"model.get_parameter({name!r})"
            watch.append((f"{name}.grad", compile(f"{getter}.grad", "<watch>", "eval")))
            watch.append((name, compile(getter, "<watch>", "eval")))
    if "loss" in namespace:
        watch.append(("loss", compile("loss", "<watch>", "eval")))
    return watch


def _question_line(exc: BaseException, request: VariantRequest) -> int | None:
    files = {request.code.file, *(s.file for s in request.setup)}
    line = None
    tb: TracebackType | None = exc.__traceback__
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename in files:
            line = lineno
    if isinstance(exc, SyntaxError) and exc.filename in files:
        line = exc.lineno
    return line


def run_variant(request: VariantRequest, emit: Callable[[Frame], None]) -> Done:
    """Seed, run setup and steps, evaluate verify and answer; the final frame."""
    torch.manual_seed(request.seed)
    random.seed(request.seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(request.seed)
    run = Run(request, emit)
    if request.capture_graph:
        run.graphs.watch_backward()
    try:
        run.execute()
    finally:
        run.graphs.unwatch_backward()
    if run.columns is None:
        run.choose_columns()
    verify = run.evaluate(request.verify)
    answer = run.evaluate(request.answer, number=True)
    return Done(run.error, verify, answer, run.error_graph)
