"""Edit a variant and run it again: the code editor, its run's table and what it changed.

`ExperimentScreen` holds what the editor and the playground share: the four texts of an
experiment (`gradquiz.playground`), `ctrl+r` to run them in the app's lab, the table of the run
and sentences saying how it differs (`gradquiz.difference.compare`). `EditorScreen` edits one
variant of a question and compares the run with that variant and with the right one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text as RichText
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Static, TextArea

from gradquiz import display, playground
from gradquiz.difference import Difference, compare, gloss, reference_variant
from gradquiz.display import one_line, printable
from gradquiz.format.model import YOURS, Question
from gradquiz.grading import Response
from gradquiz.i18n import N_, _
from gradquiz.lab.protocol import VariantRequest, VariantResult
from gradquiz.playground import Experiment, Part, Problem
from gradquiz.tui.labpool import SharedLab
from gradquiz.tui.messages import InTurn
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.variants import comparable_columns, compare_column

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp

# TextArea ids by the part of the experiment they hold.
AREAS = {Part.CODE: "code", Part.SETUP: "setup", Part.WATCH: "watch"}


def code_area(text: str, part: Part) -> TextArea:
    try:
        area = TextArea.code_editor(text, language="python", id=AREAS[part])
    except Exception:
        area = TextArea.code_editor(text, id=AREAS[part])
    area.border_title = _(part)
    return area


def trace_table(table: DataTable[RichText], result: VariantResult, error_style: Style) -> None:
    """Fill `table` with a run: a row a step, a column a watch label, its error last."""
    table.clear(columns=True)
    table.add_column(_("step"), key="step")
    for column in result.columns:
        table.add_column(RichText(one_line(column)), key=column)
    if result.error is not None and not result.columns:
        table.add_column(_("error"), key="error")
    for row in result.rows:
        cells = [RichText(one_line(display.cell(row.values.get(c)))) for c in result.columns]
        table.add_row(RichText(str(row.step)), *cells)
    error = result.error
    if error is not None:
        where = f"✗ {error.step}" if error.step is not None else "✗"
        blanks = [RichText("") for _column in range(len(table.columns) - 2)]
        table.add_row(
            RichText(where, style=error_style),
            RichText(one_line(str(error)), style=error_style),
            *blanks,
        )


class ExperimentScreen(Screen[Experiment]):
    """The texts of an experiment, `ctrl+r` to run them, the run's table and its differences.
    Dismissed with the experiment as it stands, so whoever opened it can keep the edit."""

    CSS_PATH = "../editor.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the editor would otherwise take these keys as text.
        Binding("ctrl+r", "run", N_("Run"), id="edit.run", priority=True),
        Binding("escape", "leave", N_("Leave (keeps the edit)"), id="edit.leave", priority=True),
    ]

    @dataclass
    class Ran(Message):
        """A run of the screen's experiment came back from the lab (posted from a thread)."""

        result: VariantResult
        number: int

    @dataclass
    class RunDrawn(Message):
        """The run's table is on screen (benchmarks time ctrl+r to the table with it)."""

        number: int

    def __init__(self, lab: SharedLab, experiment: Experiment, title: str) -> None:
        super().__init__()
        self.lab = lab
        self.experiment = experiment
        self.heading = title
        self.runs = 0
        self.last: VariantResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(RichText(one_line(self.heading)), id="edit-title")
        with Horizontal(id="edit-body"):
            with VerticalScroll(id="edit-texts"):
                yield code_area(self.experiment.code, Part.CODE)
                yield code_area(self.experiment.setup, Part.SETUP)
                watch = TextArea(self.experiment.watch, id="watch", soft_wrap=False)
                watch.border_title = _("watch (label: expression, one a line)")
                yield watch
                with Horizontal(id="steps-row"):
                    yield Label(_("steps") + " ", id="steps-label")
                    yield Input(str(self.experiment.steps), id="steps", type="integer")
            # Scrolls: at 80x24 a long table pushes the sentences below the screen.
            with VerticalScroll(id="edit-results"):
                yield Static(_("Press ctrl+r to run."), id="edit-status")
                yield DataTable[RichText](id="edit-table", zebra_stripes=True)
                yield Static(id="edit-differences")
                yield Static(id="edit-beside")
                yield Static(id="edit-output")
        # Ours, not Textual's Footer: it shows the keys' descriptions in the learner's language.
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#code", TextArea).focus()

    def texts(self) -> Experiment | Problem:
        """The experiment as the learner has written it, or the first reason it cannot run."""
        steps = playground.parse_steps(self.query_one("#steps", Input).value)
        if isinstance(steps, Problem):
            return steps
        experiment = Experiment(
            setup=self.query_one("#setup", TextArea).text,
            code=self.query_one("#code", TextArea).text,
            steps=steps,
            watch=self.query_one("#watch", TextArea).text,
            seed=self.experiment.seed,
            timeout=self.experiment.timeout,
            tolerance=self.experiment.tolerance,
        )
        return playground.problem(experiment) or experiment

    def current(self) -> Experiment:
        """What to keep on leaving: the texts, with the last good step count if it is broken."""
        steps = playground.parse_steps(self.query_one("#steps", Input).value)
        return Experiment(
            setup=self.query_one("#setup", TextArea).text,
            code=self.query_one("#code", TextArea).text,
            steps=self.experiment.steps if isinstance(steps, Problem) else steps,
            watch=self.query_one("#watch", TextArea).text,
            seed=self.experiment.seed,
            timeout=self.experiment.timeout,
            tolerance=self.experiment.tolerance,
        )

    def status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#edit-status", Static)
        status.update(RichText(printable(text)))
        status.set_class(error, "-error")

    def point_at(self, part: Part, line: int) -> None:
        """Put the cursor on the line of `part` that is wrong, the line selected."""
        if part is Part.STEPS:
            self.query_one("#steps", Input).focus()
            return
        area = self.query_one(f"#{AREAS[part]}", TextArea)
        row = max(0, min(line - 1, area.document.line_count - 1))
        area.focus()
        area.cursor_location = (row, 0)
        area.select_line(row)

    def may_run(self, go: Callable[[], None]) -> None:
        """Run `go` when this experiment's code may run (the editor asks for trust here)."""
        go()

    def in_turn(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the keys typed before have reached the editor: `ctrl+r` is a
        priority key, taken as it arrives, and would read the text without the Enter typed
        just before it."""
        focused = self.focused
        if focused is None:
            callback()
        else:
            focused.post_message(InTurn(callback))

    def on_in_turn(self, message: InTurn) -> None:
        message.stop()
        message.callback()

    def action_run(self) -> None:
        self.in_turn(self.run_texts)

    def run_texts(self) -> None:
        texts = self.texts()
        if isinstance(texts, Problem):
            self.status(_("✗ Not run: {problem}").format(problem=texts), error=True)
            self.point_at(texts.part, texts.line)
            return
        self.may_run(lambda: self.start(texts))

    def start(self, experiment: Experiment) -> None:
        self.runs += 1
        self.status(_("Running in the lab…"))
        self.run_in_lab(self.request(experiment), self.runs)

    def request(self, experiment: Experiment) -> VariantRequest:
        raise NotImplementedError

    @work(thread=True, group="edit-run", exclusive=True, exit_on_error=False)
    def run_in_lab(self, request: VariantRequest, number: int) -> None:
        (result,) = self.lab.run_all([request])
        self.post_message(self.Ran(result, number))

    def on_experiment_screen_ran(self, message: Ran) -> None:
        if message.number != self.runs:
            return  # an older run, overtaken by a newer ctrl+r
        result = message.result
        error_style = Style.parse(f"bold {self.app.theme_variables['error']}")
        trace_table(self.query_one("#edit-table", DataTable), result, error_style)
        sentences = [
            # TRANSLATORS: "Against the original:" and the sentence saying how the run differs.
            _("{against} {sentence}").format(against=said, sentence=d.sentence)
            for said, d in self.differences(result)
        ]
        self.query_one("#edit-differences", Static).update(
            RichText(printable("\n".join(sentences)))
        )
        self.query_one("#edit-beside", Static).update(self.beside(result, error_style))
        printed = result.output.rstrip()
        self.query_one("#edit-output", Static).update(
            RichText(printable(_("Printed:") + f"\n{printed}" if printed else ""))
        )
        self.last = result
        error = result.error
        if error is None:
            self.status(
                _("✓ Run {number}: {variant}, {seconds:.2f} s").format(
                    number=message.number, variant=result.variant, seconds=result.seconds
                )
            )
        else:
            place = playground.error_place(error)
            meaning = gloss(error)
            raised = (
                _("✗ Run {number} raised ({part}, line {line}): {error}").format(
                    number=message.number, part=_(place[0]), line=place[1], error=error
                )
                if place
                else _("✗ Run {number} raised: {error}").format(number=message.number, error=error)
            )
            self.status(
                raised + (f"\n{meaning}" if meaning else ""),
                error=True,
            )
            if place is not None:
                self.point_at(*place)
        self.call_after_refresh(self.post_message, self.RunDrawn(message.number))

    def differences(self, result: VariantResult) -> list[tuple[str, Difference]]:
        """How the run differs from what it is held to, each with what that is."""
        raise NotImplementedError

    def beside(self, result: VariantResult, error: Style) -> RichText:
        """The run's values beside those it is held to, column by column (none here)."""
        return RichText()

    def action_leave(self) -> None:
        self.in_turn(lambda: self.dismiss(self.current()))


class EditorScreen(ExperimentScreen):
    """One variant of a question, edited; its runs are "yours (from B)", compared with B and
    with the right variant."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "restore", N_("Restore the original"), id="edit.restore", priority=True),
    ]

    def __init__(
        self,
        lab: SharedLab,
        question: Question,
        variant: str,
        experiment: Experiment,
        original: Experiment,
        *,
        results: Mapping[str, VariantResult],
        right: str | None,
        tolerance: float,
        trusted: Callable[[], bool],
        ask_trust: Callable[[Callable[[bool | None], None]], None],
    ) -> None:
        label = playground.yours_label(variant)
        super().__init__(
            lab,
            experiment,
            _("{question} · editing {variant} · runs as {label}").format(
                question=question.id, variant=variant, label=label
            ),
        )
        self.asked = question
        self.question = question.id
        self.variant = variant
        self.original = original
        self.results = results
        self.right = right
        self.tolerance = tolerance
        self.trusted = trusted
        self.ask_trust = ask_trust

    def on_mount(self) -> None:
        super().on_mount()
        # The cursor at the top of the step code; the learner's edit usually starts there.
        self.query_one("#code", TextArea).cursor_location = (0, 0)

    def may_run(self, go: Callable[[], None]) -> None:
        if self.trusted():
            go()
            return

        def decided(trust: bool | None) -> None:
            if trust:
                go()
            else:
                self.status(_("Not run: the pack is not trusted (its setup is the pack's code)."))

        self.ask_trust(decided)

    def request(self, experiment: Experiment) -> VariantRequest:
        return playground.request(experiment, self.question, playground.yours_label(self.variant))

    def differences(self, result: VariantResult) -> list[tuple[str, Difference]]:
        against = [(_("Against the original:"), self.variant)]
        if self.right is not None and self.right != self.variant:
            against.append((_("Against the right one:"), self.right))
        return [
            (said, compare(result, self.results[v], self.tolerance))
            for said, v in against
            if v in self.results
        ]

    def beside(self, result: VariantResult, error: Style) -> RichText:
        """Each watch column of the run beside the original's and the right variant's, a
        value unlike the original's marked."""
        from gradquiz.tui.widgets.lab import comparison_text

        runs = {self.variant: self.results[self.variant]} if self.variant in self.results else {}
        runs[result.variant] = result
        if self.right is not None and self.right in self.results:
            runs.setdefault(self.right, self.results[self.right])
        if len(runs) < 2:
            return RichText()
        names = {self.variant: f"{self.variant} (original)", result.variant: result.variant}
        if self.right is not None and self.right != self.variant:
            names[self.right] = f"{self.right} ✓ (right)"
        blocks = []
        for column in comparable_columns(runs):
            comparison = compare_column(self.asked, runs, column, against=self.variant)
            titles = [one_line(names.get(v, v)) for v in comparison.variants]
            table, _width = comparison_text(comparison, titles, error)
            heading = RichText(one_line(column), style="bold")
            heading.append(_(": your run beside the original"), style="not bold")
            blocks.append(RichText("\n").join([heading, table]))
        return RichText("\n\n").join(blocks)

    def action_restore(self) -> None:
        self.in_turn(self.restore)

    def restore(self) -> None:
        self.query_one("#code", TextArea).load_text(self.original.code)
        self.query_one("#setup", TextArea).load_text(self.original.setup)
        self.query_one("#watch", TextArea).load_text(self.original.watch)
        self.query_one("#steps", Input).value = str(self.original.steps)
        self.status(_("Restored {variant} as the question wrote it.").format(variant=self.variant))


def variant_to_edit(
    question: Question, response: Response | None, shown: str | None = None
) -> str | None:
    """The variant on display in the lab (`shown`), else the learner's pick (the first, for
    several; their arrangement of an `order` question), else the question's first variant."""
    ids = [v.id for v in question.variants()]
    if isinstance(response, tuple) and question.type == "order":
        ids.append(YOURS)
    if shown in ids:
        return shown
    if YOURS in ids:
        return YOURS
    picked = sorted(response) if isinstance(response, frozenset) else [response]
    return next((v for v in picked if v in ids), ids[0] if ids else None)


def open_editor(
    app: GradquizApp,
    question: Question,
    edits: dict[tuple[str, str], Experiment],
    shown: str | None = None,
) -> None:
    """Push the editor on the variant of `question` on display in the lab (`shown`), else the
    one the learner picked; its edit is kept in `edits` (the quiz screen's, for the session)
    when the learner leaves."""
    from gradquiz.grading import tolerance_of
    from gradquiz.tui.messages import TrustGiven
    from gradquiz.tui.screens.dialogs import TrustDialog

    answered = app.quiz.answered(question)
    variant = variant_to_edit(question, answered.response if answered else None, shown)
    if variant is None:
        return
    response = answered.response if answered else None
    arrangement = response if isinstance(response, tuple) and variant == YOURS else ()
    original = playground.from_question(question, variant, arrangement)
    results = app.quiz.results(question.id)
    policy, pack = app.trust_policy, question.pack

    def ask_trust(decided: Callable[[bool | None], None]) -> None:
        def answered_trust(trust: bool | None) -> None:
            if trust:
                app.post_message(TrustGiven(question.id, submitting=False))
            decided(trust)

        app.push_screen(TrustDialog(policy.summary(pack), policy.why_not(pack)), answered_trust)

    def kept(experiment: Experiment | None) -> None:
        if experiment is not None:
            edits[question.id, variant] = experiment

    screen = EditorScreen(
        app.lab,
        question,
        variant,
        edits.get((question.id, variant), original),
        original,
        results=results,
        right=reference_variant(question, results),
        tolerance=tolerance_of(question),
        trusted=lambda: app.trusted(question),
        ask_trust=ask_trust,
    )
    app.push_screen(screen, kept)
