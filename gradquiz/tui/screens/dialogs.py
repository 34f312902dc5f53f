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

from gradquiz.display import jsonable, one_line, plural, printable
from gradquiz.i18n import N_, _
from gradquiz.packs import PackSummary


def full_text(value: Any) -> str:
    """A traced value at full precision: JSON keeps every digit the worker sent."""
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), indent=1)


class FullValueDialog(ModalScreen[None]):
    """The full value behind a rounded table cell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", N_("Close"), id="dialog.close"),
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
            yield Label(_("Esc closes"), classes="dim")


class ConfirmDialog(ModalScreen[bool]):
    """A yes-or-no question before something that cannot be undone; No is the default."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", N_("Yes"), id="confirm.yes"),
        Binding("n,escape", "answer(False)", N_("No"), id="confirm.no"),
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
                yield Button(_("Yes (y)"), variant="error", id="yes")
                yield Button(_("No (n)"), variant="primary", id="no")

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
        Binding("y", "decide(True)", N_("Trust and run"), id="trust.yes"),
        Binding("n,escape", "decide(False)", N_("Not now"), id="trust.no"),
    ]

    def __init__(self, summary: PackSummary, why: str) -> None:
        super().__init__()
        self.summary = summary
        self.why = why

    def compose(self) -> ComposeResult:
        s = self.summary
        # One line each, as written: a title cannot forge a line of its own here.
        authors = ", ".join(one_line(a) for a in s.authors) if s.authors else _("not given")
        contents = _("{questions}, {snippets}").format(
            questions=plural(s.questions, "{n} question", "{n} questions"),
            snippets=plural(s.snippets, "{n} code snippet", "{n} code snippets"),
        )
        details = "\n".join(
            [
                # TRANSLATORS: the five labels of the trust prompt are padded to one width.
                _("Pack:     {title}").format(
                    title=one_line(s.title) if s.title else _("(untitled)")
                ),
                _("File:     {file}").format(file=one_line(str(s.file))),
                _("Authors:  {authors}").format(authors=authors),
                _("Contents: {contents}").format(contents=contents),
                _("SHA-256:  {digest}").format(digest=s.sha256[:12]),
            ]
        )
        with Vertical(id="trust-dialog"):
            yield Label(_("Trust this pack and run its code?"), id="dialog-title")
            yield Static(RichText(details), id="trust-details")
            yield Static(
                RichText(
                    _(
                        "{why}. Trusting it runs its Python on this computer, as you, whenever "
                        "gradquiz shows one of its questions, until the file changes."
                    ).format(why=one_line(self.why))
                ),
                id="trust-why",
            )
            with Horizontal(id="trust-buttons"):
                yield Button(_("Trust and run (y)"), variant="warning", id="trust-yes")
                yield Button(_("Not now (n)"), variant="primary", id="trust-no")

    def on_mount(self) -> None:
        self.query_one("#trust-no", Button).focus()

    def action_decide(self, trust: bool) -> None:
        self.dismiss(trust)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "trust-yes")
