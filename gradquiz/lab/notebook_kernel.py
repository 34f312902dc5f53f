"""gradquiz's tracing helper, for a notebook: runs one variant of a question's experiment the
way gradquiz's lab does, and prints the table gradquiz shows.

The semantics are those of the question format (and `gradquiz.lab.runner`): seed torch and
`random` (and numpy, if imported), run `setup` once in a fresh namespace holding `torch`, `nn`,
`F`, `optim`, `record` and `step`, run the step code `steps` times, and take a row of the
`watch` expressions after each step, or wherever the code calls `record()`. An error ends the
run and is shown with its step. Values keep full precision; only the table rounds.

gradquiz never imports this module: its source is the first cell of an exported notebook, run
in a plain Jupyter kernel that has torch (and torchvision) but not gradquiz.
"""

from __future__ import annotations

import math
import random
import sys
from typing import Any

import torch
from torch import nn, optim
from torch.nn import functional

DIGITS = 6
MAX_ITEMS = 6

# gradquiz's lab runs on one intra-op thread; so does this kernel, so that sums are added in
# the same order and the last digits match what gradquiz shows.
torch.set_num_threads(1)


def plain(value: Any) -> Any:
    """A watched value as plain Python, keeping full precision (tensors as nested lists)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.is_complex() or tensor.is_sparse or tensor.is_quantized or tensor.is_meta:
            return repr(tensor)
        return tensor.cpu().tolist()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, bool | int | float) for v in value):
        return list(value)
    return repr(value)


def number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 10 ** (-DIGITS + 1)):
        return f"{value:.{DIGITS - 1}e}"
    return f"{value:.{DIGITS}f}"


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for sub in value for item in _flatten(sub)]
    return [value]


def cell(value: Any) -> str:
    """A value as gradquiz's tables show it: numbers rounded, long tensors elided."""
    if value is None or isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list):
        flat = _flatten(value)
        if len(flat) == 1:
            return f"[{cell(flat[0])}]"
        shown = [cell(v) for v in flat[:MAX_ITEMS]]
        more = f", … ({len(flat)} values)" if len(flat) > MAX_ITEMS else ""
        return "[" + ", ".join(shown) + more + "]"
    return str(value)


def default_watch(namespace: dict[str, Any]) -> dict[str, str]:
    """`<name>.grad` and `<name>` for each parameter of `model`, then `loss`."""
    watch = {}
    model = namespace.get("model")
    if isinstance(model, nn.Module):
        for name, _ in model.named_parameters():
            watch[f"{name}.grad"] = f"model.get_parameter({name!r}).grad"
            watch[name] = f"model.get_parameter({name!r})"
    if "loss" in namespace:
        watch["loss"] = "loss"
    return watch


class Run:
    """One variant's namespace and trace, filled as its steps run."""

    def __init__(self, watch: dict[str, str] | None) -> None:
        self.given_watch = watch
        self.watch: dict[str, str] | None = None
        self.step = 0
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.recorded_this_step = False
        self.error: str | None = None
        self.namespace: dict[str, Any] = {
            "__name__": "__gradquiz__",
            "torch": torch,
            "nn": nn,
            "F": functional,
            "optim": optim,
            "record": self.record,
            "step": 0,
        }

    def record(self) -> None:
        """Take a row of the trace now (question code calls this as `record()`)."""
        self.recorded_this_step = True
        self.take_row()

    def columns(self) -> dict[str, str]:
        if self.watch is None:
            # Chosen at the first row, as gradquiz does, so `loss` defined by step 1 counts.
            given = self.given_watch
            self.watch = given if given is not None else default_watch(self.namespace)
        return self.watch

    def take_row(self) -> None:
        values = {}
        for label, expr in self.columns().items():
            try:
                values[label] = plain(eval(expr, self.namespace))
            except Exception as exc:
                values[label] = f"<{type(exc).__name__}: {exc}>"
        self.rows.append((self.step, values))

    def execute(self, setup: list[str], code: str, steps: int) -> None:
        try:
            for source in setup:
                exec(compile(source, "<setup>", "exec"), self.namespace)
            step_code = compile(code, "<step code>", "exec")
            for step in range(1, steps + 1):
                self.step = step
                self.namespace["step"] = step
                self.recorded_this_step = False
                exec(step_code, self.namespace)
                if not self.recorded_this_step:
                    self.take_row()
        except (Exception, SystemExit) as exc:  # an error is a result, as in gradquiz
            self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def table(self, title: str) -> str:
        header = ["step", *self.columns()]
        lines = [
            [str(step)] + [cell(values.get(c)) for c in header[1:]] for step, values in self.rows
        ]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
        out = [title, "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
        out.append("  ".join("-" * w for w in widths))
        out += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in lines]
        if self.error is not None:
            where = f"at step {self.step}" if self.step else "in setup"
            out.append(f"raised {where}: {self.error}")
        return "\n".join(out)


def trace(
    *,
    code: str,
    setup: tuple[str, ...] = (),
    seed: int = 0,
    steps: int = 1,
    watch: dict[str, str] | None = None,
) -> Run:
    """Seed, run setup and steps; the finished run, its rows at full precision."""
    torch.manual_seed(seed)
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    run = Run(watch)
    run.execute(list(setup), code, steps)
    return run


def run_variant(
    variant: str,
    *,
    code: str,
    setup: tuple[str, ...] = (),
    seed: int = 0,
    steps: int = 1,
    watch: dict[str, str] | None = None,
    answer: str | None = None,
) -> None:
    """Run one variant and print its table (and, for a numeric question, the answer)."""
    run = trace(code=code, setup=setup, seed=seed, steps=steps, watch=watch)
    print(run.table(variant))
    if answer is not None:
        scope = {**run.namespace, "trace": [values for _, values in run.rows], "error": run.error}
        try:
            value = plain(eval(answer, scope))
        except Exception as exc:
            value = f"<{type(exc).__name__}: {exc}>"
        while isinstance(value, list) and len(value) == 1:
            value = value[0]
        print("answer:", cell(value))
