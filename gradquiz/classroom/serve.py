"""`gradquiz serve`: the app in a browser, one process per browser session, via textual-serve.

The page first asks the learner's name (a plain HTML form, so it works before any terminal is
drawn); the name then stays in the address (`/?name=ada`), so a reload opens the same
learner's app again where they left off. Each session is textual-serve's `AppService` running
`gradquiz` with `GRADQUIZ_HOME=<sessions>/<name>`: learners never share a progress file, a
trust list or a cache. The server is our own small aiohttp application rather than
textual-serve's `Server`, whose one command serves every visitor alike.
"""

from __future__ import annotations

import asyncio
import html
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from gradquiz.classroom.session import EDITING_ENV, learner_name
from gradquiz.i18n import _, active

TEMPLATES = Path(textual_serve.__file__).parent / "templates"
STATICS = Path(textual_serve.__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

FORM = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>gradquiz</title>
<style>
body {{ background: #0c181f; color: #eee; font: 18px monospace; display: flex;
  justify-content: center; align-items: center; height: 90vh; }}
form {{ background: #12232d; padding: 32px 48px; }}
input, button {{ font: inherit; padding: 6px 12px; margin: 8px 0; }}
.error {{ color: #ff8a80; }}
</style></head>
<body><form method="get" action="/">
<h1>gradquiz</h1>
<p>{message}</p>
<label for="name">{label}</label><br>
<input id="name" name="name" value="{value}" autofocus autocomplete="off" maxlength="24">
<button type="submit">{start}</button>
<p>{note}</p>
</form></body></html>
"""


def page(message: str, value: str = "", error: bool = False) -> str:
    text = html.escape(message)
    return FORM.format(
        lang=active(),
        message=f'<span class="error">{text}</span>' if error else text,
        value=html.escape(value),
        label=html.escape(_("Your name")),
        start=html.escape(_("Start")),
        note=html.escape(_("Your answers are kept under this name: use the same name next time.")),
    )


@dataclass
class Classroom:
    """What serves one classroom: where learners are kept and what each session runs."""

    sessions: Path
    # The app's command line, GRADQUIZ_HOME aside: the interpreter, `-m gradquiz`, its flags.
    command: Sequence[str]
    max_sessions: int | None = None
    allow_editing: bool = False
    live: set[AppService] = field(default_factory=set)
    downloads: DownloadManager = field(default_factory=DownloadManager)

    def full(self) -> bool:
        return self.max_sessions is not None and len(self.live) >= self.max_sessions

    def session_command(self, name: str) -> str:
        """The shell line textual-serve runs for `name`'s session (it runs one through a
        shell): `exec` so that its process is the app's, which textual-serve stops."""
        env = {"GRADQUIZ_HOME": str(self.sessions / name)}
        if not self.allow_editing:
            env[EDITING_ENV] = "off"
        assignments = [f"{key}={value}" for key, value in env.items()]
        return "exec env " + shlex.join([*assignments, *self.command])

    async def index(self, request: web.Request) -> web.StreamResponse:
        typed = request.query.get("name")
        if typed is None:
            return web.Response(text=page(_("Who is learning?")), content_type="text/html")
        try:
            name = learner_name(typed)
        except ValueError as exc:
            return web.Response(
                text=page(str(exc), typed, error=True), content_type="text/html", status=400
            )
        if name != typed:
            raise web.HTTPFound(f"/?name={name}")
        if self.full():
            message = _(
                "The classroom is full ({sessions} sessions are open). "
                "Try again when someone leaves."
            ).format(sessions=self.max_sessions)
            return web.Response(
                text=page(message, name, error=True), content_type="text/html", status=503
            )
        context: dict[str, Any] = {
            "font_size": 16,
            "app_websocket_url": f"ws://{request.host}/ws/{name}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": f"gradquiz · {name}"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        try:
            name = learner_name(request.match_info["name"])
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        socket = web.WebSocketResponse(heartbeat=15)
        await socket.prepare(request)
        if self.full():
            await socket.close(message=b"the classroom is full")
            return socket

        async def close() -> None:
            await socket.close()

        service = AppService(
            self.session_command(name),
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=close,
            download_manager=self.downloads,
        )
        self.live.add(service)
        try:
            await service.start(*_size(request))
            await _relay(socket, service)
        finally:
            # The page went away (or the server is stopping): the app quits, and its lab too.
            self.live.discard(service)
            await service.stop()
            await socket.close()
        return socket

    async def stop_all(self, _app: web.Application) -> None:
        await asyncio.gather(*(service.stop() for service in list(self.live)))

    def application(self) -> web.Application:
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES))
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/ws/{name}", self.websocket),
                web.static("/static", STATICS),
            ]
        )
        app.on_shutdown.append(self.stop_all)
        return app


def _size(request: web.Request) -> tuple[int, int]:
    """The browser's terminal size, as textual.js asks for it (80x24 if it says nonsense)."""
    try:
        return int(request.query.get("width", "80")), int(request.query.get("height", "24"))
    except ValueError:
        return 80, 24


async def _relay(socket: web.WebSocketResponse, service: AppService) -> None:
    """What the browser sends, to the session's process (textual-serve's own envelope)."""
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        envelope = message.json()
        match envelope:
            case ["stdin", str(data)]:
                await service.send_bytes(data.encode("utf-8"))
            case ["resize", {"width": int(width), "height": int(height)}]:
                await service.set_terminal_size(width, height)
            case ["ping", data]:
                await socket.send_json(["pong", data])
            case ["blur", *_]:
                await service.blur()
            case ["focus", *_]:
                await service.focus()


def serve(classroom: Classroom, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM)."""
    classroom.sessions.mkdir(parents=True, exist_ok=True)
    web.run_app(classroom.application(), host=host, port=port, print=None)
