"""Command palette entries: jump to a question by its title, re-run the experiment."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from gradquiz.tui.app import GradquizApp


class JumpProvider(Provider):
    """`Jump to: <title>` for every question, matched on its title and id."""

    @property
    def quiz(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    async def _entries(self) -> list[tuple[str, str, str]]:
        app = self.quiz
        library = await app.whole_library()
        return [
            (f"Jump to: {q.title.get(app.language)}", q.id, f"{q.pack.name} · {q.topic} · {q.id}")
            for q in library.questions
        ]

    async def discover(self) -> Hits:
        for text, question_id, help_text in await self._entries():
            yield DiscoveryHit(text, partial(self.quiz.jump, question_id), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, question_id, help_text in await self._entries():
            score = max(matcher.match(text), matcher.match(question_id))
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self.quiz.jump, question_id),
                    help=help_text,
                )
