"""Start-up without the garbage collector.

Importing Textual and reading the first question file allocate hundreds of thousands of
objects, and none of them is garbage; the collector still walks them, a full pass included,
which cost about 65 ms of a first paint of about 600 ms. So the `gradquiz` program pauses
collection as it starts and resumes it once the first screen is drawn, or once a headless
command is under way. What is alive by then is frozen: later full passes skip it, so none of
them stalls a key press.
"""

from __future__ import annotations

import gc


class _Collector:
    paused = False


def pause() -> None:
    if gc.isenabled():
        gc.disable()
        _Collector.paused = True


def resume() -> None:
    """Collect again, if `pause` stopped it; a no-op otherwise, and after the first call."""
    if _Collector.paused:
        _Collector.paused = False
        gc.freeze()
        gc.enable()


def program() -> int:
    """The `gradquiz` program and `python -m gradquiz`: the command line, collector paused."""
    pause()
    try:
        # Imported once paused: importing is most of what starting costs.
        from gradquiz.cli import main

        return main()
    finally:
        resume()
