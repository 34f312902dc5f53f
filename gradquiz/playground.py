"""An experiment being edited: a variant of a question the learner changes, or a free one in
the playground. Pure: no torch, no screen.

The editor holds four texts (setup, step code, steps, watch); this module turns them into the
worker's `VariantRequest`, finds a syntax error before anything runs, maps the line of a runtime
error back to the text it came from, and writes a playground's experiment as a question file.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from gradquiz.format.model import YOURS, Question, Variant
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import Limits, RunError, Snippet, VariantRequest

MAX_STEPS = 1000

# The step code and the setup go to the worker as snippets of one pseudo-file whose lines are
# far apart, so the one line number a RunError carries says which of the two raised.
EDITED_FILE = "<edited>"
_SETUP_FIRST_LINE = 100_001


class Part(StrEnum):
    """The texts of an experiment, as the editor names them."""

    # Marked, and translated where shown (`_(part)`).
    SETUP = N_("setup")
    CODE = N_("step code")
    WATCH = N_("watch")
    STEPS = N_("steps")


@dataclass(frozen=True)
class Experiment:
    setup: str
    code: str
    steps: int = 1
    # One `label: expression` a line; empty: the runner's default watch.
    watch: str = ""
    seed: int = 0
    timeout: float = 10.0
    tolerance: float = 1e-6


@dataclass(frozen=True)
class Problem:
    """Why an experiment cannot run: which text, which line of it (1-based), what is wrong."""

    part: Part
    line: int
    message: str

    def __str__(self) -> str:
        return _("{part}, line {line}: {problem}").format(
            part=_(self.part), line=self.line, problem=self.message
        )


EXAMPLE = Experiment(
    setup="w = torch.tensor(1.0, requires_grad=True)\n",
    code="loss = 3 * w\nloss.backward()\n",
    steps=3,
    watch="w.grad: w.grad\nloss: loss\n",
)


def _source(code: object) -> str:
    source = getattr(code, "source", None)
    return source if isinstance(source, str) else ""


def from_question(
    question: Question, variant: str | None = None, arrangement: tuple[str, ...] = ()
) -> Experiment:
    """The experiment behind one variant of `question` (its first when `variant` is None);
    with `arrangement`, an `order` answer's lines as the variant `yours`."""
    experiment = question.experiment
    if experiment is None:
        return EXAMPLE
    variants = question.variants()
    if arrangement:
        variants.append(Variant(YOURS, question.arrangement(arrangement)))
    chosen = next((v for v in variants if v.id == variant), variants[0] if variants else None)
    setups = [experiment.setup, chosen.setup if chosen else None]
    setup = "".join(_ended(_source(c)) for c in setups if c is not None)
    watch = "".join(
        f"{label}: {_source(expr).strip()}\n" for label, expr in (experiment.watch or ())
    )
    return Experiment(
        setup=setup,
        code=_source(chosen.code) if chosen else "",
        steps=experiment.steps,
        watch=watch,
        seed=experiment.seed,
        timeout=experiment.timeout,
        tolerance=experiment.tolerance,
    )


def _ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def parse_steps(text: str) -> int | Problem:
    try:
        steps = int(text.strip())
    except ValueError:
        return Problem(Part.STEPS, 1, _("{text!r} is not a whole number").format(text=text.strip()))
    if not 1 <= steps <= MAX_STEPS:
        return Problem(
            Part.STEPS, 1, _("steps must be between 1 and {most}").format(most=MAX_STEPS)
        )
    return steps


def parse_watch(text: str) -> list[tuple[str, str]] | Problem:
    """`label: expression` lines (blank lines and `#` comments skipped)."""
    watch: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, colon, expr = line.partition(": ")
        if not colon or not label.strip() or not expr.strip():
            return Problem(Part.WATCH, number, _("write each watch as `label: expression`"))
        try:
            ast.parse(expr.strip(), mode="eval")
        except SyntaxError as exc:
            return Problem(Part.WATCH, number, f"SyntaxError: {exc.msg}")
        watch.append((label.strip(), expr.strip()))
    return watch


def problem(experiment: Experiment) -> Problem | None:
    """The first reason the experiment cannot run, found without running it."""
    for part, source in ((Part.SETUP, experiment.setup), (Part.CODE, experiment.code)):
        try:
            compile(source, f"<{part}>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return Problem(part, exc.lineno or 1, f"{type(exc).__name__}: {exc.msg}")
        except ValueError as exc:  # a NUL byte in the source
            return Problem(part, 1, str(exc))
    watch = parse_watch(experiment.watch)
    return watch if isinstance(watch, Problem) else None


def request(
    experiment: Experiment, question: str, variant: str, limits: Limits | None = None
) -> VariantRequest:
    """The run of an experiment `problem` found nothing wrong with."""
    watch = parse_watch(experiment.watch)
    assert not isinstance(watch, Problem), "check `problem` first"
    return VariantRequest(
        question=question,
        variant=variant,
        code=Snippet(experiment.code, EDITED_FILE, 1),
        setup=(Snippet(experiment.setup, EDITED_FILE, _SETUP_FIRST_LINE),),
        seed=experiment.seed,
        steps=experiment.steps,
        watch=tuple((label, Snippet(expr, "<watch>", 1)) for label, expr in watch) or None,
        limits=replace(limits or Limits(), timeout=experiment.timeout),
    )


def error_place(error: RunError) -> tuple[Part, int] | None:
    """Which text raised `error` of a run built by `request`, and its line there."""
    if error.line is None:
        return None
    if error.line >= _SETUP_FIRST_LINE:
        return Part.SETUP, error.line - _SETUP_FIRST_LINE + 1
    return Part.CODE, error.line


def yours_label(variant: str) -> str:
    """The edited run's name: "yours (from B)"; an edited arrangement is "yours (edited)"."""
    return (
        _("yours (edited)")
        if variant == YOURS
        else _("yours (from {variant})").format(variant=variant)
    )


_ID = re.compile(r"[^a-z0-9]+")


def question_id_for(path: Path) -> str:
    """A question id from a file name: `my idea.yaml` gives `my-idea`."""
    return _ID.sub("-", path.stem.lower()).strip("-") or "my-question"


def _block(text: str, indent: str) -> str:
    """A YAML literal block (`|`) holding `text` exactly, every line indented."""
    lines = text.rstrip("\n").splitlines() or [""]
    return "|\n" + "".join(f"{indent}{line}\n" if line.strip() else "\n" for line in lines)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def question_file(experiment: Experiment, question_id: str) -> str:
    """A one-question pack holding the experiment; `gradquiz check` accepts it once the author
    writes the prompt, the choices and the answer where it says TODO."""
    watch = parse_watch(experiment.watch)
    assert not isinstance(watch, Problem), "check `problem` first"
    lines = [
        "# Written by the gradquiz playground. Fill in the prompt, the choices and the answer,",
        "# then check it with `gradquiz check FILE`. The guide: docs/authoring.md.",
        "pack:",
        "  title: My pack",
        "  description: Questions tried in the playground.",
        "",
        "questions:",
        f"  - id: {question_id}",
        "    type: single",
        "    topic: playground",
        "    difficulty: 1",
        f"    title: {_quoted(question_id.replace('-', ' ').capitalize())}",
        "    prompt: # TODO: what the learner is asked",
        "    experiment:",
        f"      seed: {experiment.seed}",
        f"      steps: {experiment.steps}",
    ]
    if experiment.setup.strip():
        lines.append("      setup: " + _block(experiment.setup, "        ").rstrip("\n"))
    lines.append("      code: " + _block(experiment.code, "        ").rstrip("\n"))
    if watch:
        lines.append("      watch:")
        lines += [f"        {_quoted(label)}: {_quoted(expr)}" for label, expr in watch]
    lines += [
        "    # TODO: the choices (a choice with `code` runs instead of the experiment's code)",
        "    choices: []",
        "    answer: # TODO: the right choice's id",
    ]
    return "\n".join(lines) + "\n"


def save_question(experiment: Experiment, path: Path) -> str:
    """Write the question file at `path`, never over an existing file; the id it was given.
    Raises FileExistsError or another OSError with the reason it could not."""
    question_id = question_id_for(path)
    text = question_file(experiment, question_id)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return question_id
