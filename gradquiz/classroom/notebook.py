"""A pack as a Jupyter notebook: per question its prompt, one code cell per variant that runs
the experiment in the learner's kernel and prints gradquiz's table, then the answer.

The first code cell defines `run_variant` (`gradquiz/lab/notebook_kernel.py`, as text) and, when
a question uses torchvision, the lab's fix that lets a CUDA build of torchvision import on CPU
torch (`gradquiz/lab/tvcompat.py`, as text). The notebook needs only torch and torchvision.
"""

from __future__ import annotations

import ast
import re
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode, v4

from gradquiz.display import printable
from gradquiz.format import Library, Question
from gradquiz.format.model import Code, NumericAnswer
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.lab.protocol import VariantResult


# nbformat's builders are untyped; these say what they return.
def _markdown(source: str) -> NotebookNode:
    cell: NotebookNode = v4.new_markdown_cell(source)  # type: ignore[no-untyped-call]
    return cell


def _code(source: str) -> NotebookNode:
    cell: NotebookNode = v4.new_code_cell(source)  # type: ignore[no-untyped-call]
    return cell


FUTURE = "from __future__ import annotations\n"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def helper_source(torchvision: bool) -> str:
    """The first code cell: the tracing helper, and the torchvision fix when it is needed."""
    source = resources.files("gradquiz.lab").joinpath("notebook_kernel.py").read_text("utf-8")
    if torchvision:
        fix = resources.files("gradquiz.lab").joinpath("tvcompat.py").read_text("utf-8")
        # One cell is one module: its only `from __future__` is the helper's, at the top.
        source += "\n\n" + fix.replace(FUTURE, "") + "\n\nimport_torchvision()\n"
    return source


def _literal(source: str) -> str:
    """Python source as a readable string literal; `repr` where a triple quote would not do."""
    literal = '"""\\\n' + source.replace("\\", "\\\\") + '"""'
    plain = all(c.isprintable() or c in "\n\t" for c in source)
    try:
        same = plain and ast.literal_eval(literal) == source
    except (SyntaxError, ValueError):
        same = False
    return literal if same else repr(source)


def _fence(text: str, language: str = "") -> str:
    """A fenced block no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def variant_source(question: Question, variant: str, code: Code, setup: list[Code]) -> str:
    """One variant's cell: its code as strings, then the call that runs it and prints."""
    experiment = question.experiment
    assert experiment is not None
    lines = []
    names = []
    for number, snippet in enumerate(setup, start=1):
        name = "SETUP" if number == 1 else f"SETUP_{number}"
        lines.append(f"{name} = {_literal(snippet.source)}")
        names.append(name)
    lines.append(f"CODE = {_literal(code.source)}")
    args = [repr(variant), "code=CODE"]
    if names:
        args.append("setup=(" + ", ".join(names) + ",)")
    args += [f"seed={experiment.seed}", f"steps={experiment.steps}"]
    if experiment.watch is not None:
        watch = ", ".join(f"{label!r}: {expr.source.strip()!r}" for label, expr in experiment.watch)
        args.append("watch={" + watch + "}")
    if isinstance(question.answer, NumericAnswer) and variant == "main":
        args.append(f"answer={question.answer.expr.source.strip()!r}")
    lines.append("run_variant(\n    " + ",\n    ".join(args) + ",\n)")
    return "\n".join(lines) + "\n"


def prompt_markdown(question: Question, lang: str | None) -> str:
    out = [f"## {question.title.get(lang)}", ""]
    out += [
        _("`{id}` · {type} · topic `{topic}`").format(
            id=question.id, type=question.type, topic=question.topic
        ),
        "",
    ]
    out += [question.prompt.get(lang).rstrip(), ""]
    if question.choices:
        out += [f"- **{c.id}**: {c.text.get(lang)}" for c in question.choices]
        out.append("")
    if question.type == "truefalse":
        out += [_("True or false?"), ""]
    if isinstance(question.answer, NumericAnswer):
        out += [
            _("Answer with a number (within ±{tolerance:g}).").format(
                tolerance=question.answer.tolerance
            ),
            "",
        ]
    if question.type == "order":
        # Sorted, so the order on the page gives nothing away.
        shuffled = sorted((*question.lines, *question.distractors))
        out += [_("Arrange some of these lines into the step code (not all belong):"), ""]
        out += [_fence("\n".join(shuffled), "python"), ""]
    if question.experiment is not None:
        out.append(_("Each cell below runs one variant of the experiment and prints its trace."))
    return "\n".join(out).rstrip() + "\n"


def answer_markdown(
    question: Question, results: Mapping[str, VariantResult], lang: str | None
) -> str:
    from gradquiz.cli.share import correct_answer

    out = [_("**Answer:** {answer}").format(answer=correct_answer(question, results, lang)), ""]
    for choice in question.choices:
        if choice.feedback is not None and choice.id not in question.correct_choices():
            out.append(
                _("- Why not {id}: {feedback}").format(
                    id=choice.id, feedback=choice.feedback.get(lang).strip()
                )
            )
    if question.explanation is not None:
        out += [
            "",
            _("**Explanation.** {explanation}").format(
                explanation=question.explanation.get(lang).strip()
            ),
        ]
    return "\n".join(out).strip() + "\n"


def question_cells(
    question: Question, results: Mapping[str, VariantResult], lang: str | None
) -> list[NotebookNode]:
    cells = [_markdown(printable(prompt_markdown(question, lang)))]
    experiment = question.experiment
    if experiment is not None:
        for variant in question.variants():
            assert variant.code is not None
            setup = [c for c in (experiment.setup, variant.setup) if c is not None]
            cells.append(_code(variant_source(question, variant.id, variant.code, setup)))
    cells.append(_markdown(printable(answer_markdown(question, results, lang))))
    return cells


def notebook(
    library: Library, runs: Mapping[str, Mapping[str, VariantResult]], lang: str | None
) -> NotebookNode:
    """The whole library as one notebook, packs in order, cells numbered for stable output."""
    questions = library.questions
    torchvision = any(
        "torchvision" in c.source
        for q in questions
        if q.experiment is not None
        for v in q.variants()
        for c in (q.experiment.setup, v.code, v.setup)
        if c is not None
    )
    packs = {q.pack.file: q.pack for q in questions}
    intro = []
    for pack in packs.values():
        intro.append(f"# {pack.title.get(lang) if pack.title else Path(pack.file).stem}")
        if pack.description is not None:
            intro += ["", pack.description.get(lang).strip()]
        if pack.authors:
            intro += ["", _("By {authors}.").format(authors=", ".join(pack.authors))]
        intro.append("")
    intro.append(
        _(
            "Made by gradquiz. Run the next cell first: it defines `run_variant`, which runs one "
            "variant of an experiment (seed, setup, steps, watch, `record()`) the way gradquiz "
            "does and prints its table. Only torch and torchvision are needed."
        )
    )
    cells = [
        _markdown(printable("\n".join(intro))),
        _code(helper_source(torchvision)),
    ]
    for question in questions:
        cells += question_cells(question, runs.get(question.id, {}), lang)
    for number, cell in enumerate(cells, start=1):
        cell.id = f"cell-{number:04d}"
    nb: NotebookNode = v4.new_notebook(  # type: ignore[no-untyped-call]
        cells=cells, metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    nbformat.validate(nb)
    return nb


def execute(nb: NotebookNode, timeout: float) -> None:
    """Run every cell in a fresh kernel, so the outputs ship with the notebook.

    Raises ModuleNotFoundError when nbclient is not installed (the `notebook` extra)."""
    # nbclient first: without the extra, the message names it rather than jupyter_client.
    from nbclient import NotebookClient  # isort: skip
    from jupyter_client.manager import KernelManager

    # Local sockets, not TCP ports: nothing else on the machine can reach the kernel.
    manager = KernelManager(kernel_name=KERNEL["name"], transport="ipc")
    client: Any = NotebookClient(nb, km=manager, timeout=timeout, kernel_name=KERNEL["name"])
    with tempfile.TemporaryDirectory(prefix="gradquiz-kernel-") as directory:
        # The kernel's working directory, its sockets and its connection file all live here,
        # so nothing is left in Jupyter's runtime directory.
        client.resources = {"metadata": {"path": directory}}
        manager.ip = str(Path(directory) / "kernel")
        manager.connection_file = str(Path(directory) / "kernel.json")
        # Our manager, so nbclient would leave the kernel running: have it shut down.
        client.execute(cleanup_kc=True)


def dumps(nb: NotebookNode) -> str:
    text: str = nbformat.writes(nb)  # type: ignore[no-untyped-call]
    return text + "\n"
