"""Command palette entries: jump to a question by its title; the quiz actions by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape

from gradquiz.display import one_line
from gradquiz.i18n import _
from gradquiz.tui.messages import JumpAsked

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
            (
                _("Jump to: {title}").format(title=one_line(q.title.get(app.language))),
                q.id,
                # Help text is read as markup by the palette: escaped, it shows as written.
                escape(one_line(f"{q.pack.name_in(app.language)} · {q.topic} · {q.id}")),
            )
            for q in library.questions
        ]

    async def discover(self) -> Hits:
        for text, question_id, help_text in await self._entries():
            yield DiscoveryHit(
                Content(text),
                partial(self.app.post_message, JumpAsked(question_id)),
                text=text,
                help=help_text,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, question_id, help_text in await self._entries():
            score = max(matcher.match(text), matcher.match(question_id))
            if score > 0:
                yield Hit(
                    score,
                    highlight(matcher, text),
                    partial(self.app.post_message, JumpAsked(question_id)),
                    text=text,
                    help=help_text,
                )


def highlight(matcher: Matcher, text: str) -> Content:
    """`text` with the query's letters marked, shown as written (Matcher.highlight reads its
    candidate as markup, and `[/]` in a title would crash the palette)."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ActionsProvider(Provider):
    """The quiz's own actions by name, for those who would rather type than remember a key."""

    @property
    def quiz(self) -> GradquizApp:
        return cast("GradquizApp", self.app)

    def _entries(self) -> list[tuple[str, str, str]]:
        # (name, screen action, help): run on the quiz screen, as its key would.
        return [
            (
                _("Drill: what is due"),
                "drill",
                _("due reviews first, then today's new questions (g)"),
            ),
            (_("Drill: mistakes only"), "drill(True)", _("questions last answered wrong (m)")),
            (_("Stats"), "stats", _("answered, accuracy by topic, due this week (s)")),
            (
                _("Skip this question for today"),
                "skip",
                _("drills leave it out until tomorrow (x)"),
            ),
            (_("Re-run the experiment"), "rerun", _("run every variant again in the lab (r)")),
            (_("Question list"), "list", _("every question with its state (l)")),
            (
                _("Edit and run this variant"),
                "edit",
                _("your pick in a code editor, ctrl+r runs it (e)"),
            ),
            (
                _("Open in the playground"),
                "playground",
                _("a free experiment to run and save (o)"),
            ),
        ]

    def _run(self, action: str) -> None:
        screen = self.quiz.quiz_screen()
        if screen is not None:
            # In the screen's own queue: its actions may wait for the library, which the app's
            # queue must stay free to deliver.
            screen.call_later(screen.run_action, action)

    async def discover(self) -> Hits:
        for name, action, help_text in self._entries():
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(name), partial(self._run, action), help=help_text
                )
