"""SVG snapshots at fixed sizes, taken once every result has arrived (never mid-run)."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from tests.tui.conftest import MakeApp, settle

SnapCompare = Callable[..., bool]


async def _settled(pilot: Pilot[None]) -> None:
    await settle(pilot)


def test_question(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=_settled)


def test_lab_with_two_variants(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await pilot.press("2", "enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=answer)


def test_error_row(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await pilot.press("1", "enter")
        await settle(pilot)

    assert snap_compare(make_app("fails"), terminal_size=(120, 40), run_before=answer)


def test_small_terminal_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def answer(pilot: Pilot[None]) -> None:
        await pilot.press("2", "enter")
        await settle(pilot)

    assert snap_compare(make_app(language="zh"), terminal_size=(80, 24), run_before=answer)
