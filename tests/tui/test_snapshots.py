"""SVG snapshots at fixed sizes, taken once every result has arrived (never mid-run)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from fsrs import Scheduler
from textual.pilot import Pilot

from gradquiz.format import Library
from gradquiz.tui.labpool import SharedLab
from tests.tui.conftest import MakeApp, settle, six_app
from tests.tui.test_progress import opened, until_saved

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def exact_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict names the next review: FSRS's exact interval, not one fuzzed at random."""
    monkeypatch.setattr("gradquiz.progress.Scheduler", partial(Scheduler, enable_fuzzing=False))


async def answered(pilot: Pilot[None], *keys: str) -> None:
    """Answer, then wait for the save, after which the verdict says when it comes back."""
    await opened(pilot)
    await pilot.press(*keys)
    await settle(pilot)
    await until_saved(pilot, 1)
    await pilot.pause()


async def _settled(pilot: Pilot[None]) -> None:
    await settle(pilot)


def test_question(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settled)


def test_lab_with_two_variants(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await answered(pilot, "2", "enter")

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=answer)


def test_error_row(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await answered(pilot, "1", "enter")

    assert snap_compare(make_app("fails"), terminal_size=(120, 40), run_before=answer)


def test_small_terminal_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await answered(pilot, "2", "enter")
        # Whether the verdict had to scroll into sight depends on how far the lab was drawn
        # when the answer came: put it at the top, as on a learner's screen a moment later.
        pilot.app.screen.query_one("#verdict").scroll_visible(top=True, animate=False)
        await pilot.pause()

    assert snap_compare(make_app(language="zh"), terminal_size=(80, 24), run_before=answer)


def _answered(keys: list[str], shown: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Answer with `keys`, wait for the runs, then scroll `shown` to the top of the screen."""

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        pilot.app.screen.query_one(shown).scroll_visible(top=True, animate=False)
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_lab_with_code(snap_compare: SnapCompare, make_app: MakeApp, size: tuple[int, int]) -> None:
    run = _answered(["2", "enter"], "#shared-setup")
    assert snap_compare(make_app(), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_comparison(
    snap_compare: SnapCompare,
    six_library: Library,
    shared_lab: SharedLab,
    size: tuple[int, int],
) -> None:
    run = _answered(["3", "enter"], "#comparison")
    assert snap_compare(six_app(six_library, shared_lab), terminal_size=size, run_before=run)


def test_question_list_filtered_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    """The list as a browser on a small terminal: the words typed, the filters in force."""

    async def browse(pilot: Pilot[None]) -> None:
        await opened(pilot)
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("s", "slash", *"gradient")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=browse)


def test_graph_of_a_detached_variant(snap_compare: SnapCompare, shared_lab: SharedLab) -> None:
    """`v` on the variant that detached w: the cut input and the unreached leaf, marked."""
    from gradquiz.format import load
    from gradquiz.tui.app import GradquizApp
    from tests.tui.test_graph import GRAPH_PACKS

    library = load([GRAPH_PACKS])
    app = GradquizApp(library, lambda question: True, "neuron-detach", None, lab=shared_lab)

    async def answer(pilot: Pilot[None]) -> None:
        await answered(pilot, "2", "enter")
        await pilot.press("v")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 50), run_before=answer)
