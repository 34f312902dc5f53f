"""`gradquiz new ID`: a commented question file to start from, one per type.

Each template is a complete pack that `gradquiz check` passes as written (tests hold it to
that), with a real experiment small enough to run in a blink, and the editor header line.

The `$schema` header names the schema file shipped inside gradquiz: by absolute path when
printing to stdout (the file could land anywhere), by a path relative to FILE with `-o`
(so a checkout that keeps its virtualenv next to its packs can move as a whole).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gradquiz.cli.common import ExitCode
from gradquiz.display import one_line
from gradquiz.format.model import QUESTION_TYPES
from gradquiz.i18n import _

HEADER = """\
# yaml-language-server: $schema={schema}
# A gradquiz pack: a header and a list of questions. Check it with `gradquiz check FILE`;
# try it with `gradquiz --questions FILE --question {id}`. The guide: docs/authoring.md.
pack:
  title: My pack                 # shown in the app's question list
  description: What this pack teaches.
  authors: [Your Name]

questions:
  - id: {id}                     # unique slug: lowercase letters, digits and -
    type: {type}
    topic: training-loop         # groups drills; a slug
    difficulty: 1                # 1, 2 or 3
    tags: [example]
"""

# The experiment runs in a fresh namespace holding torch, nn, F and optim; `step` is the
# 1-based step number, and `record()` takes a table row at that point.
BODIES = {
    "single": """\
    title: Does .grad pile up across backward() calls?
    prompt: |
      `w = torch.tensor(1.0, requires_grad=True)`. Each step computes `loss = 3 * w` and
      calls `loss.backward()`. In which loop is `w.grad` equal to 3 after every step?
    hints:
      - backward() adds into .grad; it does not overwrite it.
    experiment:
      seed: 0                    # set before setup (torch and random)
      setup: |                   # run once per variant
        w = torch.tensor(1.0, requires_grad=True)
      steps: 3                   # the step code runs this many times
      watch:                     # the table's columns: label -> Python expression
        w.grad: w.grad
    choices:                     # a choice with `code` is a variant: it runs on its own
      - id: A
        text: "Set `w.grad = None` before each backward()"
        code: |
          w.grad = None
          loss = 3 * w
          loss.backward()
      - id: B
        text: Call backward() without clearing
        code: |
          loss = 3 * w
          loss.backward()
        feedback: Without clearing, each backward() adds 3 more to w.grad.
    answer: A
    # verify proves the key: `check` fails if the experiment disagrees with `answer`.
    # expr runs after each variant with `trace` (rows of the table) and `error`.
    verify: {expr: "all(row['w.grad'] == 3.0 for row in trace)"}
    explanation: |
      `backward()` accumulates into `.grad`. Clearing it (set to None, or `zero_grad()`)
      before each backward keeps one step's gradient; without clearing it grows 3, 6, 9.
    references:
      - https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html
""",
    "multiple": """\
    title: Which losses give w.grad == 2?
    prompt: |
      `w = torch.tensor(1.0, requires_grad=True)`. Which of these losses leave
      `w.grad == 2` after one `backward()`? Pick every one that does.
    experiment:
      setup: |
        w = torch.tensor(1.0, requires_grad=True)
      watch:
        w.grad: w.grad
    choices:
      - id: A
        text: "`(w * torch.ones(2)).sum()`"
        code: |
          (w * torch.ones(2)).sum().backward()
      - id: B
        text: "`(w * torch.ones(2)).mean()`"
        code: |
          (w * torch.ones(2)).mean().backward()
        feedback: The mean divides by 2, so w.grad is 1.
      - id: C
        text: "`2 * w`"
        code: |
          (2 * w).backward()
    answer: [A, C]
    # same_as: the correct choices are exactly those whose trace equals A's.
    verify: {same_as: A}
    explanation: |
      Summing two copies of `w` and doubling `w` both have derivative 2; the mean has 1.
    references:
      - https://pytorch.org/docs/stable/generated/torch.mean.html
""",
    "truefalse": """\
    title: Does no_grad() stop tracking?
    prompt: |
      Inside `with torch.no_grad():`, `y = w * 2` (with `w.requires_grad` True) gives a
      tensor with `requires_grad=True`. True or false?
    experiment:
      setup: |
        w = torch.tensor(1.0, requires_grad=True)
      code: |
        with torch.no_grad():
            y = w * 2
        record()                 # take the row here (otherwise: after the step)
      watch:
        y.requires_grad: y.requires_grad
        y: y
    answer: false
    # For truefalse, expr says whether the statement is true.
    verify: {expr: "error is None and trace[0]['y.requires_grad']"}
    explanation: |
      Under `torch.no_grad()` results are not recorded in the graph, so `y.requires_grad`
      is False even though `w` requires grad.
    references:
      - https://pytorch.org/docs/stable/generated/torch.no_grad.html
""",
    "numeric": """\
    title: Two backward() calls, no clearing
    prompt: |
      `w = torch.tensor(2.0, requires_grad=True)`; each step runs
      `loss = (3 * w) ** 2` and `loss.backward()`, without clearing `.grad`.
      What is `w.grad` after 2 steps?
    hints:
      - d/dw (3w)² = 18w.
    experiment:
      setup: |
        w = torch.tensor(2.0, requires_grad=True)
      code: |
        loss = (3 * w) ** 2
        loss.backward()
      steps: 2
      watch:
        loss: loss
        w.grad: w.grad
    answer:
      expr: w.grad.item()          # evaluated after the last step: the correct number
      value: 72.0                  # what you expect; `check` compares it with PyTorch
      tolerance: 0.01              # accepted error; keep it below the gap to wrong answers
    explanation: |
      Each backward adds 18·w = 36 to `.grad`, so after two steps it holds 72.
    references:
      - https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html
""",
    "order": """\
    title: Build one training step
    prompt: |
      Arrange the lines into one SGD step on `w` that uses only this step's gradient.
    experiment:
      setup: |
        w = torch.tensor([1.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
      steps: 3
      watch:
        w: w
        w.grad: w.grad
    # The reference runs the lines in this order; any arrangement with the same trace
    # is right.
    lines:
      - opt.zero_grad()
      - loss = (w * 3).sum()
      - loss.backward()
      - opt.step()
    distractors:                   # extra lines the learner should leave out
      - torch.nn.utils.clip_grad_norm_([w], 0.5)
    explanation: |
      Clear, compute the loss, backpropagate, then step: clearing after `backward()` would
      step with a zero gradient.
    references:
      - https://pytorch.org/docs/stable/optim.html
""",
    "trace": """\
    title: Fill in the table of plain SGD
    prompt: |
      `w = torch.tensor(1.0, requires_grad=True)`, `opt = optim.SGD([w], lr={{lr}})`, and
      each step minimises `(w - 3) ** 2`. Fill in the blank cells.
    params:                      # drawn per attempt: a variable in the experiment, and
      lr: [0.1, 0.2]             # {{lr}} in any text shows the value drawn
    experiment:
      setup: |
        w = torch.tensor(1.0, requires_grad=True)
        opt = optim.SGD([w], lr=lr)
      code: |
        opt.zero_grad()
        ((w - 3) ** 2).backward()
        record()                 # the row: w and its gradient before the step
        opt.step()
      steps: 3
      watch:
        w: w
        w.grad: w.grad
    blanks:                      # the cells the learner fills in; rows 1-based as shown
      - {row: 2, column: w}
      - {row: 3, column: w.grad}
    answer: {tolerance: 0.001}   # accepted error in each cell (the default)
    explanation: |
      The gradient is 2(w - 3) and each step moves `w` by -{{lr}} times it.
    references:
      - https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
""",
}

TYPES = tuple(BODIES)


def schema_reference(output: Path | None) -> str:
    from gradquiz.format.schema import SCHEMA_FILE

    if output is None:
        return str(SCHEMA_FILE)
    try:
        return os.path.relpath(SCHEMA_FILE, output.resolve().parent)
    except ValueError:  # another drive on Windows: no relative path exists
        return str(SCHEMA_FILE)


def template(question_id: str, kind: str, output: Path | None = None) -> str:
    head = HEADER.format(schema=schema_reference(output), id=question_id, type=kind)
    return head + BODIES[kind]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "new", help=_("write a commented question file to start from"), parents=[common]
    )
    parser.add_argument("question_id", metavar="ID", help=_("the new question's id (a slug)"))
    parser.add_argument(
        "--type",
        choices=QUESTION_TYPES,
        default="single",
        help=_("question type (default: single)"),
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help=_("write to FILE (never overwritten)")
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    return command(args.question_id, args.type, args.output)


def command(question_id: str, kind: str, output: str | None) -> int:
    from gradquiz.format.schema import SLUG

    if not SLUG.fullmatch(question_id):
        message = _(
            "{id} is not a valid question id: use lowercase letters, digits and single '-' "
            "between them, e.g. grad-accumulates"
        )
        print("gradquiz: " + message.format(id=one_line(repr(question_id))), file=sys.stderr)
        return ExitCode.USAGE
    if output is None:
        sys.stdout.write(template(question_id, kind))
        return ExitCode.OK
    path = Path(output)
    try:
        # "x": never overwrite, even a file created since we looked.
        with path.open("x", encoding="utf-8") as file:
            file.write(template(question_id, kind, path))
    except FileExistsError:
        message = _("{file} exists; not overwriting it")
        print("gradquiz: " + message.format(file=one_line(output)), file=sys.stderr)
        return ExitCode.USAGE
    except OSError as exc:
        message = _("cannot write {file}: {reason}")
        print(
            "gradquiz: " + message.format(file=one_line(output), reason=exc.strerror),
            file=sys.stderr,
        )
        return ExitCode.USAGE
    print(
        _("wrote {file}; check it with: gradquiz check {file}").format(file=path), file=sys.stderr
    )
    return ExitCode.OK
