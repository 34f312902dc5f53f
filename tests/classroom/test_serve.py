"""`gradquiz serve` without a browser: names, the page, each session's command, the flags."""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gradquiz.classroom import serve as serving
from gradquiz.classroom.serve import Classroom
from gradquiz.classroom.session import editing_allowed, learner_name
from gradquiz.cli import main
from tests.conftest import PACKS


def test_a_name_is_a_short_slug() -> None:
    assert learner_name("  Ada ") == "ada"
    assert learner_name("team-3_b") == "team-3_b"
    for bad in ("", "../bob", "ada lovelace", "-x", "a" * 25, "zoë", ".hidden"):
        with pytest.raises(ValueError, match="A name is 1 to 24 letters"):
            learner_name(bad)


def test_each_session_runs_the_app_in_its_learners_home(tmp_path: Path) -> None:
    room = Classroom(tmp_path / "my class", ["/usr/bin/python3", "-m", "gradquiz"])
    assert shlex.split(room.session_command("ada")) == [
        "exec",
        "env",
        f"GRADQUIZ_HOME={tmp_path / 'my class' / 'ada'}",
        "GRADQUIZ_EDITING=off",
        "/usr/bin/python3",
        "-m",
        "gradquiz",
    ]
    room.allow_editing = True
    assert "GRADQUIZ_EDITING=off" not in room.session_command("ada")


def test_editing_is_allowed_unless_the_server_says_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADQUIZ_EDITING", raising=False)
    assert editing_allowed()
    monkeypatch.setenv("GRADQUIZ_EDITING", "off")
    assert not editing_allowed()


async def client(room: Classroom) -> TestClient[Any, Any]:
    test_client: TestClient[Any, Any] = TestClient(TestServer(room.application()))
    await test_client.start_server()
    return test_client


async def test_the_page_asks_the_name_then_opens_that_learners_session(tmp_path: Path) -> None:
    web = await client(Classroom(tmp_path, ["gradquiz"]))
    try:
        asked = await web.get("/")
        assert asked.status == 200
        assert '<input id="name" name="name"' in await asked.text()
        refused = await web.get("/", params={"name": "<b>ada</b>"})
        assert refused.status == 400
        text = await refused.text()
        assert "A name is 1 to 24 letters" in text
        assert 'value="&lt;b&gt;ada&lt;/b&gt;"' in text  # what was typed, escaped
        folded = await web.get("/", params={"name": "Ada"}, allow_redirects=False)
        assert (folded.status, folded.headers["Location"]) == (302, "/?name=ada")
        opened = await web.get("/", params={"name": "ada"})
        assert opened.status == 200
        assert f'data-session-websocket-url="ws://{web.host}:{web.port}/ws/ada"' in (
            await opened.text()
        )
        assert (await web.get("/ws/..%2Fbob")).status in (400, 404)
    finally:
        await web.close()


async def test_a_full_classroom_says_so(tmp_path: Path) -> None:
    room = Classroom(tmp_path, ["gradquiz"], max_sessions=1)
    room.live.add(object())  # type: ignore[arg-type]  # one session open
    web = await client(room)
    try:
        full = await web.get("/", params={"name": "bob"})
        assert full.status == 503
        assert "The classroom is full (1 sessions are open)" in await full.text()
    finally:
        room.live.clear()
        await web.close()


def served_with(monkeypatch: pytest.MonkeyPatch, *argv: str) -> list[tuple[Classroom, str, int]]:
    calls: list[tuple[Classroom, str, int]] = []
    monkeypatch.setattr(serving, "serve", lambda room, host, port: calls.append((room, host, port)))
    assert main(list(argv)) == 0
    return calls


def test_serve_defaults_and_the_common_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(PACKS)
    [(room, host, port)] = served_with(
        monkeypatch, "--no-bundled", "serve", "--questions", "good.yaml", "--question", "retain"
    )
    assert (host, port, room.max_sessions, room.allow_editing) == ("127.0.0.1", 8000, 20, False)
    assert room.sessions == tmp_path / "home" / "classroom"
    assert room.command == [
        sys.executable,
        "-m",
        "gradquiz",
        "--questions",
        str(PACKS / "good.yaml"),
        "--no-bundled",
        "--question",
        "retain",
    ]
    assert "warning" not in capsys.readouterr().err


def test_serving_beyond_this_machine_warns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served_with(monkeypatch, "serve", "--host", "0.0.0.0", "--allow-editing")
    assert (
        "warning: serving on 0.0.0.0: anyone who can reach this address can use gradquiz "
        "here, and run code on this machine" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-sessions", "0"], "--max-sessions must be at least 1"),
        (["--port", "70000"], "--port must be between 1 and 65535"),
    ],
)
def test_serve_usage_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in capsys.readouterr().err
