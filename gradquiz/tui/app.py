"""The gradquiz terminal app."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Markdown, Static

from gradquiz.format import Library, Question


class GradquizApp(App[None]):
    TITLE = "gradquiz"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "move(1)", "Next", id="next"),
        Binding("p", "move(-1)", "Previous", id="previous"),
        Binding("ctrl+q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        library: Library,
        trusted: Callable[[Question], bool],
        start: str | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.trusted = trusted
        self.language = language
        ids = [q.id for q in library.questions]
        self.index = ids.index(start) if start in ids else 0

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(id="where")
            yield Markdown(id="question")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        where = self.query_one("#where", Static)
        body = self.query_one("#question", Markdown)
        if not self.library.questions:
            where.update("No questions are loaded.")
            body.update("Add packs with `--questions PATH`, or drop `--no-bundled`.")
            return
        question = self.library.questions[self.index]
        where.update(
            f"{question.pack.name} · {question.topic} · "
            f"{self.index + 1}/{len(self.library.questions)}"
        )
        text = f"# {question.title.get(self.language)}\n\n{question.prompt.get(self.language)}"
        for number, choice in enumerate(question.choices, 1):
            text += f"\n\n**{number}.** {choice.text.get(self.language)}"
        body.update(text)

    def action_move(self, delta: int) -> None:
        if self.library.questions:
            self.index = (self.index + delta) % len(self.library.questions)
            self.show()


def run_app(
    library: Library,
    trusted: Callable[[Question], bool],
    start: str | None,
    language: str | None,
) -> int:
    GradquizApp(library, trusted, start, language).run()
    return 0
