"""NO_COLOR: the app draws in shades of grey only, lab and plot included."""

from __future__ import annotations

import re

import pytest

from tests.tui.conftest import MakeApp, settle

# The screenshot's window frame (its three buttons and title), drawn by the SVG template.
FRAME = {"#ff5f57", "#febc2e", "#28c840", "#c5c8c6"}


def colours(svg: str) -> set[str]:
    found = re.findall(r"(?:fill|stroke)[=:]\s*\"?(#[0-9a-fA-F]{6})", svg)
    return {c.lower() for c in found} - FRAME


def grey(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return r == g == b


async def test_no_color_draws_only_greys(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "enter")
        await settle(pilot)
        coloured = colours(app.export_screenshot())
    assert any(not grey(c) for c in coloured), "without NO_COLOR the lab is in colour"

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "enter")
        await settle(pilot)
        plain = colours(app.export_screenshot())
    assert plain and all(grey(c) for c in plain), sorted(c for c in plain if not grey(c))
