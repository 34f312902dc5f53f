"""Every key the app answers to, read from the bindings themselves so the list cannot drift."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from gradquiz.i18n import N_, _
from gradquiz.progress.drill import EASY_SECONDS
from gradquiz.progress.leech import LEECH_MISSES
from gradquiz.tui.screens.dialogs import ConfirmDialog, FullValueDialog, TrustDialog
from gradquiz.tui.widgets.answers import ErrorPicker, OrderAnswer
from gradquiz.tui.widgets.footer import KeyBar


def _bindings(owner: type) -> list[Binding]:
    found: list[BindingType] = getattr(owner, "BINDINGS", [])
    return [b for b in found if isinstance(b, Binding)]


def key_table() -> Table:
    # Imported here: the quiz screen imports this module to open it.
    from gradquiz.tui.app import GradquizApp
    from gradquiz.tui.screens.question_list import QuestionListScreen
    from gradquiz.tui.screens.quiz import QuizScreen
    from gradquiz.tui.screens.stats import StatsScreen

    table = Table(_("key"), _("what it does"), _("where"), box=None, pad_edge=False)
    sections: list[tuple[str, type]] = [
        (_("question"), QuizScreen),
        (_("order lines"), OrderAnswer),
        (_("error blank"), ErrorPicker),
        (_("question list"), QuestionListScreen),
        (_("stats"), StatsScreen),
        (_("confirm"), ConfirmDialog),
        (_("full value"), FullValueDialog),
        (_("trust prompt"), TrustDialog),
        (_("anywhere"), GradquizApp),
    ]
    for where, owner in sections:
        for binding in _bindings(owner):
            keys = binding.key.replace("question_mark", "?").replace("slash", "/")
            keys = keys.replace(",", " / ")
            keys = keys.replace("left_square_bracket", "[").replace("right_square_bracket", "]")
            # Marked with N_ where declared (before the language is chosen): translated here.
            description = _(binding.description)
            if binding.tooltip:
                description = _("{description}: {tooltip}").format(
                    description=description, tooltip=_(binding.tooltip)
                )
            table.add_row(keys, description, where)
    table.add_row(
        "ctrl+p", _("command palette: jump to a question by title, drill, stats…"), _("anywhere")
    )
    table.add_row(
        "tab / shift+tab",
        _("move focus (tables: arrows + enter show a full value)"),
        _("anywhere"),
    )
    return table


SCHEDULING = N_(
    "A wrong answer is rated Again; a right one Good, or Easy when given within "
    "{seconds:g} seconds without a hint. FSRS then sets the next review, which the verdict "
    "states; retention in settings.toml (0.9 by default) is the chance of remembering it "
    "then that the schedule aims for. Each attempt draws the question's numbers and the "
    "choices' order afresh; ctrl+z takes back the last answer of the session."
)


LEECHES = N_(
    "A question answered wrong {misses} times (every wrong answer counts, even with right "
    "ones in between) is a leech: it leaves your drills, where it would come back forever, and is "
    "flagged ⚑ in the question list (s filters the leeches) and in the stats. k, or opening it "
    "from the list, gives it a closer look: every hint shown, o for its experiment in the "
    "playground. A right answer from there clears it and it is back in your drills; it is a "
    "leech again only after {misses} misses more."
)
BROWSING = N_(
    "In the question list, / moves to the words to find (in a title, id, topic or prompt; "
    "the list follows as you type, enter or escape goes back to it); t, y and s go through "
    "the topics, the types and the states (new, due, wrong, leech), c clears every filter."
)


class HelpScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "app.pop_screen", N_("Back"), id="help.back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="help"):
            yield Static(_("Every key"), classes="heading")
            yield Static(key_table(), id="keys")
            yield Static(_("How an answer is scheduled"), classes="heading")
            yield Static(_(SCHEDULING).format(seconds=EASY_SECONDS), id="scheduling")
            yield Static(_("Leeches"), classes="heading")
            yield Static(_(LEECHES).format(misses=LEECH_MISSES), id="leech-rule")
            yield Static(_("Finding a question"), classes="heading")
            yield Static(_(BROWSING), id="browsing")
        yield KeyBar()
