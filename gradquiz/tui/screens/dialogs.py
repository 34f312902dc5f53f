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

from gradquiz.display import jsonable


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
            yield Label(RichText(self.heading), id="dialog-title")
            with VerticalScroll():
                yield Static(RichText(full_text(self.value)), id="full-value")
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
