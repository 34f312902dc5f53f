"""The footer: the screen's keys on one line, drawn as one widget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from gradquiz.i18n import N_, _

# Textual names the palette's key so; said here too, to be translated.
PALETTE = N_("palette")


@dataclass(frozen=True)
class Key:
    """A key the footer shows, and the columns it covers on the line."""

    key: str
    display: str
    description: str
    enabled: bool
    start: int = 0
    end: int = 0


class KeyBar(Widget, can_focus=False):
    """Textual's Footer, as one widget. Footer makes a widget of every key; with a dozen keys
    they cost the first screen as much as a question, to style and lay out.

    Like Footer: the keys of the screen's bindings with `show`, one per action, greyed while
    their action is disabled, the command palette's key on the right, and a click runs a key.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--disabled",
        "key-bar--hover",
        "key-bar--separator",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--disabled {
            text-style: dim;
        }
        & > .key-bar--hover {
            background: $block-hover-background;
        }
        & > .key-bar--separator {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[Key] = []
        self.hovered: str | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def keys(self) -> tuple[list[Key], Key | None]:
        """The screen's keys to show, and the command palette's (None when it has none)."""
        app = self.app
        active = self.screen.active_bindings
        # One key per action, the first bound, as Footer shows them.
        first: dict[str, tuple[Binding, bool]] = {}
        for _key, binding, enabled, _tooltip in active.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled))
        keys = [
            # Descriptions are marked with N_ where the bindings are declared, before the
            # language is chosen: translated here, as they are shown.
            Key(binding.key, app.get_key_display(binding), _(binding.description), enabled)
            for binding, enabled in first.values()
        ]
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _key, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = Key(binding.key, app.get_key_display(binding), _(PALETTE), enabled)
        return keys, palette

    def render(self) -> Text:
        keys, palette = self.keys()
        width = self.size.width
        right = Text()
        if palette is not None:
            right = Text("▏", style=self.get_component_rich_style("key-bar--separator"))
            right.append_text(self.label(palette, describe=True))
            right.append(" ")
        room = width - right.cell_len
        # When the line is short, the last keys lose their descriptions first, then keys go.
        sizes = [(self.label(key, True).cell_len, self.label(key, False).cell_len) for key in keys]
        described = len(keys)
        while (
            described
            and sum(w for w, _bare in sizes[:described])
            + sum(bare for _w, bare in sizes[described:])
            > room
        ):
            described -= 1
        line = Text()
        self.shown = []
        for index, key in enumerate(keys):
            label = self.label(key, describe=index < described)
            if line.cell_len + label.cell_len > room:
                break
            start = line.cell_len
            line.append_text(label)
            self.shown.append(replace(key, start=start, end=line.cell_len))
        if palette is not None:
            line.append(" " * (room - line.cell_len))
            start = line.cell_len
            line.append_text(right)
            self.shown.append(replace(palette, start=start, end=line.cell_len))
        return line

    def label(self, key: Key, describe: bool) -> Text:
        label = Text.assemble(
            (f" {key.display} ", self.get_component_rich_style("key-bar--key")),
            (
                f"{key.description} " if describe and key.description else "",
                self.get_component_rich_style("key-bar--description"),
            ),
        )
        if not key.enabled:
            label.stylize(self.get_component_rich_style("key-bar--disabled"))
        if key.key == self.hovered:
            label.stylize(self.get_component_rich_style("key-bar--hover"))
        return label

    def key_at(self, x: int) -> Key | None:
        return next((key for key in self.shown if key.start <= x < key.end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self.key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self.key_at(event.x)
        self.set_hovered(None if key is None else key.key)

    def on_leave(self) -> None:
        self.set_hovered(None)

    def set_hovered(self, key: str | None) -> None:
        if key != self.hovered:
            self.hovered = key
            self.refresh()
