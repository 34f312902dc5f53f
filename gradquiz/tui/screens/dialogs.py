"""Dialogs: small screens over the quiz that give back a result when dismissed."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from gradquiz.display import jsonable, one_line, printable
from gradquiz.packs import PackSummary


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def full_text(value: Any) -> str:
    """A traced value at full precision: JSON keeps every digit the worker sent."""
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), indent=1)


class FullValueDialog(ModalScreen[None]):
    """The full value behind a rounded table cell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "Close", id="dialog.close"),
    ]

    def __init__(self, title: str, value: Any) -> None:
        super().__init__()
        self.heading = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(RichText(one_line(self.heading)), id="dialog-title")
            with VerticalScroll():
                yield Static(RichText(printable(full_text(self.value))), id="full-value")
            yield Label("Esc closes", classes="dim")


class ConfirmDialog(ModalScreen[bool]):
    """A yes-or-no question before something that cannot be undone; No is the default."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.heading = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(RichText(self.heading), id="dialog-title")
            yield Static(RichText(self.message), id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TrustDialog(ModalScreen[bool]):
    """Whether to let a pack's code run: who wrote it and how much code it holds, then yes/no.

    "No" has the focus: Enter pressed by habit must not run a stranger's code.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide(True)", "Trust and run", id="trust.yes"),
        Binding("n,escape", "decide(False)", "Not now", id="trust.no"),
    ]

    def __init__(self, summary: PackSummary, why: str) -> None:
        super().__init__()
        self.summary = summary
        self.why = why

    def compose(self) -> ComposeResult:
        s = self.summary
        # One line each, as written: a title cannot forge a line of its own here.
        authors = ", ".join(one_line(a) for a in s.authors) if s.authors else "not given"
        details = "\n".join(
            [
                f"Pack:     {one_line(s.title) if s.title else '(untitled)'}",
                f"File:     {one_line(str(s.file))}",
                f"Authors:  {authors}",
                f"Contents: {plural(s.questions, 'question')}, "
                f"{plural(s.snippets, 'code snippet')}",
                f"SHA-256:  {s.sha256[:12]}",
            ]
        )
        with Vertical(id="trust-dialog"):
            yield Label("Trust this pack and run its code?", id="dialog-title")
            yield Static(RichText(details), id="trust-details")
            yield Static(
                RichText(
                    f"{one_line(self.why)}. Trusting it runs its Python on this computer, as you, "
                    "whenever gradquiz shows one of its questions, until the file changes."
                ),
                id="trust-why",
            )
            with Horizontal(id="trust-buttons"):
                yield Button("Trust and run (y)", variant="warning", id="trust-yes")
                yield Button("Not now (n)", variant="primary", id="trust-no")

    def on_mount(self) -> None:
        self.query_one("#trust-no", Button).focus()

    def action_decide(self, trust: bool) -> None:
        self.dismiss(trust)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "trust-yes")
