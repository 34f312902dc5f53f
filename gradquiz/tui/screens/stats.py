"""The learner's progress: totals, accuracy by topic, what is due this week, what is missed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual_plotext import PlotextPlot

from gradquiz.display import one_line, plural
from gradquiz.i18n import N_, _
from gradquiz.progress.leech import LEECH_MISSES
from gradquiz.progress.stats import (
    TOPIC_COLUMNS,
    percent,
    stats,
    topic_rows,
)
from gradquiz.tui.messages import DrillAsked, ProgressChanged, ResetAsked, StreakToggled
from gradquiz.tui.screens.dialogs import ConfirmDialog
from gradquiz.tui.widgets.footer import KeyBar

if TYPE_CHECKING:
    from gradquiz.progress.drill import Progress
    from gradquiz.tui.app import GradquizApp


def summary(document: dict[str, Any]) -> str:
    lines = [
        _(
            "Answered {answered} · correct {correct} ({accuracy}) · seen {seen} of "
            "{questions} questions"
        ).format(
            answered=document["answered"],
            correct=document["correct"],
            accuracy=percent(document["accuracy"]),
            seen=document["seen"],
            questions=document["questions"],
        ),
        _("Due now {due} · new today {new}").format(
            due=document["due_now"], new=document["new_today"]
        ),
    ]
    if "streak" in document:
        days = document["streak"]
        lines.append(plural(days, "Streak: {n} day in a row", "Streak: {n} days in a row"))
    return "\n".join(lines)


class StatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,s", "app.pop_screen", N_("Back"), id="stats.back"),
        Binding("g", "drill", N_("Drill what is due"), id="stats.drill"),
        Binding("e", "streak", N_("Streak on/off"), id="stats.streak"),
        Binding("R", "reset", N_("Reset everything…"), id="stats.reset"),
    ]

    @property
    def app_(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats"):
            yield Static(id="stats-notices")
            yield Static(id="stats-summary")
            yield PlotextPlot(id="due-plot")
            yield Static(_("By topic"), classes="heading")
            yield DataTable(id="by-topic", cursor_type="row", zebra_stripes=True)
            yield Static(_("Most often missed"), classes="heading")
            yield Static(id="most-missed")
            yield Static(_("Leeches"), classes="heading")
            yield Static(id="leeches")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#by-topic", DataTable)
        table.add_columns(*(_(column) for column in TOPIC_COLUMNS))
        # Until the first numbers are read: years of history take a moment.
        self.query_one("#stats").loading = True
        self.refresh_stats()

    def refresh_stats(self) -> None:
        progress = self.app_.progress
        notices = self.query_one("#stats-notices", Static)
        if progress is None:
            self.query_one("#stats").loading = False
            notices.update(_("Progress is still being opened."))
            return
        notes = list(self.app_.notices)
        if not progress.store.saving and not any(_("not being saved") in n for n in notes):
            notes.append(_("Progress is not being saved."))
        notices.update(RichText("\n".join(notes)))
        notices.set_class(bool(notes), "-shown")
        self.run_worker(self.read_stats(progress), exclusive=True, group="stats")

    async def read_stats(self, progress: Progress) -> None:
        """The numbers, read on the progress thread (after the answers being saved, so they
        count) while the screen stays live; then drawn."""
        questions = self.app_.library.questions
        document = await self.app_.on_progress_thread(
            _("The stats could not be read"), stats, progress, questions, datetime.now(UTC)
        )
        self.query_one("#stats").loading = False
        if document is not None:
            self.show_stats(document)

    def show_stats(self, document: dict[str, Any]) -> None:
        self.query_one("#stats-summary", Static).update(RichText(summary(document)))
        week = document["due_next_7_days"]
        plot = self.query_one("#due-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        counts = [day["due"] for day in week]
        plt.bar([day["date"][5:] for day in week], counts)
        # Whole questions: ticks at whole numbers, at most five of them.
        top = max(counts, default=0)
        plt.yticks(list(range(0, top + 1, max(1, -(-top // 4)))))
        # With nothing due plotext is left a zero-height range and draws the axis upside down.
        plt.ylim(0, max(top, 1))
        plt.title(_("Due in the next 7 days"))
        plot.refresh()
        table = self.query_one("#by-topic", DataTable)
        table.clear()
        for row in topic_rows(document):
            table.add_row(*row)
        missed = document["most_missed"]
        leech = _("⚑ leech")
        text = "\n".join(
            _("✗ {wrong} of {answered}  {title}").format(
                wrong=m["wrong"], answered=m["answered"], title=one_line(m["title"])
            )
            + (f"  {leech}" if m["leech"] else "")
            for m in missed
        )
        self.query_one("#most-missed", Static).update(RichText(text or _("Nothing missed yet.")))
        leeches = "\n".join(f"⚑ {one_line(item['title'])}" for item in document["leeches"])
        self.query_one("#leeches", Static).update(
            RichText(
                _(
                    "Missed {misses} times, these have left your drills: open one from the "
                    "list (l, and s until the state is leech) for a closer look; a right "
                    "answer brings it back.\n{leeches}"
                ).format(misses=LEECH_MISSES, leeches=leeches)
                if leeches
                else _("No leeches: no question has been missed {misses} times.").format(
                    misses=LEECH_MISSES
                )
            )
        )

    def action_drill(self) -> None:
        self.app.post_message(DrillAsked())

    def action_streak(self) -> None:
        self.app.post_message(StreakToggled())

    def on_progress_changed(self, message: ProgressChanged) -> None:
        self.refresh_stats()

    def action_reset(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.app.post_message(ResetAsked(None))

        self.app.push_screen(
            ConfirmDialog(
                _("Reset everything?"),
                _(
                    "Forget every answer and every review date. A backup is kept in the "
                    "progress directory's backups folder until it is thinned out."
                ),
            ),
            answered,
        )
