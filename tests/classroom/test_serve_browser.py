"""The served app in a real browser: Debian's chromium driven by Playwright.

Each test starts `gradquiz serve` on a free port of 127.0.0.1 in its own process group and
always stops it (SIGTERM, then SIGKILL to the group), so no session outlives its test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gradquiz.progress.classroom import class_stats
from tests.conftest import PACKS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, sync_playwright

# A session starts an app and a lab worker that imports torch: on two busy cores, slow.
SESSION_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Serve = Callable[..., str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Starts `gradquiz serve` over the test pack; returns its address."""
    started: list[subprocess.Popen[bytes]] = []

    # The learners press choices by number: the pack's choices keep their written order.
    pack = tmp_path / "good.yaml"
    written = (PACKS / "good.yaml").read_text(encoding="utf-8")
    pack.write_text(
        written.replace("    type: single\n", "    type: single\n    shuffle: false\n"),
        encoding="utf-8",
    )

    def start(*flags: str) -> str:
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gradquiz",
                "--no-bundled",
                "--questions",
                str(pack),
                "serve",
                "--port",
                str(port),
                "--sessions",
                str(tmp_path / "class"),
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "serve.log").open("wb"),
            start_new_session=True,
        )
        started.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return f"http://127.0.0.1:{port}/"
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        raise AssertionError("gradquiz serve did not start listening in 30 s")

    yield start
    for server in started:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        # The sessions' apps and lab workers are in its group: nothing is left running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


def answers(store: Path) -> list[tuple[str, str, int]]:
    if not store.exists():
        return []
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return db.execute("SELECT question, response, correct FROM answers ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the app has not made its tables yet
        return []
    finally:
        db.close()


# Keeps what the session sends the terminal in `window.__screen`: xterm.js draws on a canvas,
# so the page holds no text a test could wait for.
RECORD_SCREEN = """
window.__screen = "";
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const data = event.data;
        if (typeof data === "string") {
          window.__screen += data;
        } else if (data instanceof ArrayBuffer) {
          window.__screen += new TextDecoder().decode(data);
        } else if (data instanceof Blob) {
          data.text().then((text) => { window.__screen += text; });
        }
      });
    }
  };
})();
"""


def sign_in(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.add_init_script(RECORD_SCREEN)
    page.goto(url)
    page.fill("#name", name)
    page.click("button")
    # textual.js marks the page once the session's first bytes are drawn.
    page.wait_for_selector("body.-first-byte", state="attached", timeout=SESSION_SECONDS * 1000)
    return page


def wait_for_screen(page: Page, text: str) -> None:
    """Until the session has drawn `text` since the page was (re)loaded."""
    page.wait_for_function(
        "text => window.__screen.includes(text)", arg=text, timeout=SESSION_SECONDS * 1000
    )


def answer_until_saved(page: Page, keys: list[str], store: Path, question: str) -> None:
    """Type the answer, and again every 20 s while the app may still be starting (keys sent
    before its first screen is mounted are lost), until the store holds one for `question`."""
    deadline = time.monotonic() + SESSION_SECONDS
    next_try = 0.0
    while time.monotonic() < deadline:
        if any(row[0] == question for row in answers(store)):
            return
        if time.monotonic() >= next_try:
            # The terminal's own input (xterm's textarea): a click could land on a widget.
            page.locator("textarea").first.focus()
            for key in keys:
                page.keyboard.press(key)
            next_try = time.monotonic() + 20
        time.sleep(0.5)
    page.screenshot(path=str(store.parent / "timeout.png"))
    raise AssertionError(f"no answer to {question} in {store} after {SESSION_SECONDS} s")


def test_a_learner_named_in_the_page_answers_and_a_reload_continues(
    serve: Serve, browser: Browser, tmp_path: Path
) -> None:
    url = serve()
    page = sign_in(browser, url, "Ada")
    assert page.url == url + "?name=ada"  # the name is kept in the address, as typed lower-case
    store = tmp_path / "class" / "ada" / "progress.sqlite3"
    answer_until_saved(page, ["2", "Enter"], store, "accumulate")
    assert answers(store)[0] == ("accumulate", '"B"', 1)
    # A reload opens Ada's app again at the first question she has not answered: the
    # numeric one, which only "0.7" answers right.
    page.reload()
    # A key pressed before the app has read her progress is meant for the question it drew
    # first, and keeps it there: she answers once the numeric one is on the screen.
    wait_for_screen(page, "What is x[0] after one SGD step?")
    answer_until_saved(page, ["0", ".", "7", "Enter"], store, "step-rule")
    assert ("step-rule", "0.7", 1) in answers(store)
    assert sorted(p.name for p in (tmp_path / "class").iterdir()) == ["ada"]


def test_two_sessions_keep_separate_progress_and_the_class_adds_them_up(
    serve: Serve, browser: Browser, tmp_path: Path
) -> None:
    url = serve()
    ada = sign_in(browser, url, "ada")
    bob = sign_in(browser, url, "bob")
    ada_store = tmp_path / "class" / "ada" / "progress.sqlite3"
    bob_store = tmp_path / "class" / "bob" / "progress.sqlite3"
    answer_until_saved(ada, ["2", "Enter"], ada_store, "accumulate")
    answer_until_saved(bob, ["1", "Enter"], bob_store, "accumulate")
    assert answers(ada_store) == [("accumulate", '"B"', 1)]
    assert answers(bob_store) == [("accumulate", '"A"', 0)]

    document = class_stats(tmp_path / "class", [])
    assert [(x["name"], x["answered"], x["correct"]) for x in document["learners"]] == [
        ("ada", 1, 1),
        ("bob", 1, 0),
    ]
    assert document["by_question"]["accumulate"]["accuracy"] == 0.5
    assert document["most_missed"][0]["most_picked_wrong"] == "A"


def test_a_full_classroom_turns_the_next_learner_away(
    serve: Serve, browser: Browser, tmp_path: Path
) -> None:
    url = serve("--max-sessions", "1")
    sign_in(browser, url, "ada")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "?name=bob", timeout=10)
    assert refused.value.code == 503
    assert "The classroom is full (1 sessions are open)" in refused.value.read().decode()
