"""The footer: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer rebuilds every key on every bindings refresh (a focus change, a screen
    resuming, `refresh_bindings`), restyling each key twice; most refreshes change nothing it
    shows, and at start-up the rebuilds cost more than drawing the question. So this one skips a
    rebuild that would show the same keys."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[Any, ...] | None = None

    def showing(self) -> tuple[Any, ...]:
        """Everything the keys are built from."""
        return (
            self.compact,
            self.show_command_palette,
            tuple(
                (
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    binding.group,
                    enabled,
                    tooltip,
                )
                for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show
            ),
        )

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        showing = self.showing()
        # No keys yet: the first bindings refresh is what fills an empty footer.
        if showing == self._shown and self.children:
            return
        self._shown = showing
        await super().recompose()
