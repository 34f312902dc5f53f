"""Question text: Markdown drawn by Rich inside one widget, in the colours of the app's theme.

Textual's Markdown widget makes a widget of every block, and of every cell of a table; styling
and laying those out was most of what the first screen cost beyond a bare Textual app. The
question's text is read, never clicked, so one widget that draws the whole text does the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions
from rich.console import RenderResult as RichRenderResult
from rich.markdown import Markdown, MarkdownElement, TableElement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.theme import Theme
from textual.app import App, RenderResult
from textual.color import Color
from textual.widgets import Static

from gradquiz.display import printable

# Pygments styles for fenced code: a dark block on a dark theme, a light one on a light theme.
CODE_THEMES = {True: "monokai", False: "default"}


def markdown_theme(variables: dict[str, str], dark: bool) -> Theme:
    """Rich's `markdown.*` styles from the Textual theme's colours (Rich's defaults are fixed
    ANSI colours: cyan on black code reads badly on a light theme)."""

    def color(name: str) -> Color:
        return Color.parse(variables[name])

    background = color("background")
    # As Textual's Markdown widget draws inline code: a tint of warning (dark) or error (light).
    tint = "warning" if dark else "error"
    code_background = background.blend(color(tint), 0.1 if dark else 0.05)
    code = Style(color=color(f"text-{tint}").rich_color, bgcolor=code_background.rich_color)
    muted = Style(color=background.blend(color("foreground"), 0.6).rich_color)
    accent = Style(color=color("text-accent").rich_color)
    return Theme(
        {
            "markdown.code": code,
            "markdown.code_block": code,
            "markdown.block_quote": muted + Style(italic=True),
            "markdown.hr": muted,
            "markdown.item.bullet": accent + Style(bold=True),
            "markdown.item.number": accent,
            "markdown.h1": Style(bold=True),
            "markdown.h1.border": muted,
            "markdown.h2": Style(bold=True, underline=True),
            "markdown.h3": Style(bold=True),
            "markdown.h4": Style(bold=True, italic=True),
            "markdown.link": accent,
            "markdown.link_url": accent + Style(underline=True),
            "markdown.table.border": muted,
            "markdown.table.header": Style(bold=True),
            "markdown.kbd": accent + Style(bold=True),
        }
    )


_themes: dict[str, Theme] = {}


def theme_for(app: App[Any]) -> Theme:
    """The Rich theme for the app's current Textual theme, made once per theme."""
    theme = _themes.get(app.theme)
    if theme is None:
        theme = markdown_theme(app.get_css_variables(), app.current_theme.dark)
        _themes[app.theme] = theme
    return theme


class TightTable(TableElement):
    """Rich's Markdown table without its blank top and bottom edges: the blocks around it are
    spaced already, and at 80x24 two spare lines are a tenth of the screen."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RichRenderResult:
        for part in super().__rich_console__(console, options):
            if isinstance(part, Table):
                part.show_edge = False
            yield part


class QuestionMarkdown(Markdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "table_open": TightTable,
    }


@dataclass
class Themed:
    """A Rich renderable drawn with a theme of its own, leaving the app's console as it was."""

    renderable: QuestionMarkdown
    theme: Theme

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        # Drawn in full inside the theme: Rich looks styles up lazily, as it renders.
        with console.use_theme(self.theme):
            segments = list(console.render(self.renderable, options))
        yield from segments


class Prose(Static):
    """Markdown source, drawn by Rich in the app theme's colours."""

    DEFAULT_CSS = """
    Prose {
        height: auto;
    }
    """

    def __init__(self, source: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.set_source(source)

    def set_source(self, source: str) -> None:
        # Pack text: escape sequences in it are shown, never sent to the terminal.
        self.source = printable(source)
        self.markdown = QuestionMarkdown(self.source, hyperlinks=False)
        if self.is_attached:
            self.refresh(layout=True)

    def render(self) -> RenderResult:
        return self.themed()

    @staticmethod
    def render_source(app: App[Any], source: str) -> Themed:
        """Markdown source as a renderable, for a widget that draws more than the text."""
        markdown = QuestionMarkdown(printable(source), hyperlinks=False)
        markdown.code_theme = CODE_THEMES[app.current_theme.dark]
        return Themed(markdown, theme_for(app))

    def themed(self) -> Themed:
        """The text in the current theme's colours: asked on every render, as a theme change
        re-renders every widget."""
        self.markdown.code_theme = CODE_THEMES[self.app.current_theme.dark]
        return Themed(self.markdown, theme_for(self.app))
