"""`gradquiz --class DIR`: the instructor's view of a class, read from the learners' stores.

Its own small app: it opens no progress of its own, runs no experiment and never writes a
learner's file. It reads the class again every few seconds, while learners answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from gradquiz.display import one_line, plural
from gradquiz.format.model import Question
from gradquiz.i18n import N_, _
from gradquiz.progress.classroom import class_stats
from gradquiz.progress.stats import percent
from gradquiz.tui.widgets.footer import KeyBar

REFRESH_SECONDS = 5.0

# Column names marked here, translated where shown.
TABLES: dict[str, tuple[str, ...]] = {
    "class-learners": (N_("learner"), N_("answered"), N_("correct"), N_("accuracy")),
    "class-topics": (N_("topic"), N_("answered"), N_("correct"), N_("accuracy")),
    "class-missed": (
        N_("question"),
        N_("wrong"),
        N_("of"),
        N_("most picked wrong"),
        N_("times"),
        N_("title"),
    ),
}


def rows(document: dict[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Each table's cells, pack text on one line."""
    return {
        "class-learners": [
            (x["name"], str(x["answered"]), str(x["correct"]), percent(x["accuracy"]))
            for x in document["learners"]
        ],
        "class-topics": [
            (one_line(topic), str(t["answered"]), str(t["correct"]), percent(t["accuracy"]))
            for topic, t in document["by_topic"].items()
        ],
        "class-missed": [
            (
                one_line(m["id"]),
                str(m["wrong"]),
                str(m["answered"]),
                one_line(m["most_picked_wrong"]),
                str(m["picked"]),
                one_line(m["title"]),
            )
            for m in document["most_missed"]
        ],
    }


class ClassStatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_class", N_("Read again"), id="class.refresh"),
    ]

    def __init__(
        self, directory: Path, questions: Sequence[Question], language: str | None = None
    ) -> None:
        super().__init__()
        self.directory = directory
        self.questions = questions
        self.language = language

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="class-stats"):
            yield Static(id="class-summary")
            for table, heading in zip(
                TABLES, (_("Learners"), _("By topic"), _("Most often missed")), strict=True
            ):
                yield Static(heading, classes="heading")
                yield DataTable(id=table, cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        for table, columns in TABLES.items():
            self.query_one(f"#{table}", DataTable).add_columns(*(_(c) for c in columns))
        self.action_refresh_class()
        self.set_interval(REFRESH_SECONDS, self.action_refresh_class)

    def action_refresh_class(self) -> None:
        document = class_stats(self.directory, self.questions, self.language)
        summary = _(
            "{directory}: {learners} · {answered} answers · {correct} correct ({accuracy})"
        ).format(
            directory=one_line(str(self.directory)),
            learners=plural(len(document["learners"]), "{n} learner", "{n} learners"),
            answered=document["answered"],
            correct=document["correct"],
            accuracy=percent(document["accuracy"]),
        )
        for bad in document["unreadable"]:
            summary += "\n" + _("{learner}'s progress could not be read: {reason}").format(
                learner=one_line(bad["learner"]), reason=one_line(bad["reason"])
            )
        self.query_one("#class-summary", Static).update(Text(summary))
        for table, cells in rows(document).items():
            widget = self.query_one(f"#{table}", DataTable)
            widget.clear()
            for row in cells:
                widget.add_row(*(Text(cell) for cell in row))


class ClassStatsApp(App[None]):
    TITLE = "gradquiz · class"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q,q", "quit", N_("Quit"), id="quit", priority=True),
    ]

    def __init__(
        self, directory: Path, questions: Sequence[Question], language: str | None = None
    ) -> None:
        super().__init__()
        self.directory = directory
        self.questions = questions
        self.language = language

    def on_mount(self) -> None:
        self.push_screen(ClassStatsScreen(self.directory, self.questions, self.language))
