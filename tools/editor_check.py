"""Check, with a real yaml-language-server, that editors complete and validate question files.

A developer tool, not part of `make test` (it needs Node and the yaml-language-server npm
package). Install the server outside the repository, then point this script at it:

    mkdir -p /tmp/yls && (cd /tmp/yls && npm install yaml-language-server@latest)
    python tools/editor_check.py /tmp/yls/node_modules/yaml-language-server/bin/yaml-language-server

It speaks LSP over stdio (JSON-RPC with Content-Length framing), opens documents whose first
line is `# yaml-language-server: $schema=...` (file:// URI, absolute path and relative path
forms) and checks key and value completion, diagnostics for mistakes, no diagnostics for what
`gradquiz new` writes and for the bundled packs, and hover descriptions. It prints one PASS or
FAIL line per check and exits 1 if any check failed. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "gradquiz" / "format" / "question.schema.json"
TYPES = ("single", "multiple", "truefalse", "numeric", "order")
QUESTION_KEYS = {"id", "type", "topic", "title", "prompt", "experiment", "choices", "answer"}
QUESTION_KEYS |= {"verify", "hints", "explanation", "difficulty", "tags", "lines", "distractors"}
EXPERIMENT_KEYS = {"seed", "setup", "code", "steps", "watch", "timeout", "tolerance"}
CHOICE_KEYS = {"id", "text", "code", "setup", "feedback"}
VERIFY_KEYS = {"same_as", "expr"}
NUMERIC_ANSWER_KEYS = {"expr", "value", "tolerance"}

SETTINGS: dict[str, Any] = {
    "yaml": {
        "validate": True,
        "completion": True,
        "hover": True,
        "format": {"enable": False},
        # Never fetch schemas from the network: only the header names the schema.
        "schemaStore": {"enable": False},
        "schemas": {},
    },
    "[yaml]": {},
    "editor": {"tabSize": 2},
    "files": {"associations": {}},
    "http": {"proxy": "", "proxyStrictSSL": False},
}


class Server:
    """A language server on stdio; answers its requests and collects its notifications."""

    def __init__(self, command: list[str], verbose: bool = False) -> None:
        self.verbose = verbose
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.next_id = 0
        self.responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.diagnostics: dict[str, list[tuple[float, list[dict[str, Any]]]]] = {}
        self.lock = threading.Lock()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            message = json.loads(stream.read(int(headers["content-length"])))
            if self.verbose:
                print("<-", json.dumps(message)[:300], file=sys.stderr)
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:  # a response to one of ours
            with self.lock:
                waiting = self.responses.get(message["id"])
            if waiting is not None:
                waiting.put(message)
        elif "id" in message:  # a request from the server
            result: Any = None
            if method == "workspace/configuration":
                result = [_section(item.get("section")) for item in message["params"]["items"]]
            self._send({"id": message["id"], "result": result})
        elif method == "textDocument/publishDiagnostics":
            params = message["params"]
            with self.lock:
                self.diagnostics.setdefault(params["uri"], []).append(
                    (time.monotonic(), params["diagnostics"])
                )

    def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        with self.lock:
            self.next_id += 1
            ident = self.next_id
            self.responses[ident] = queue.Queue()
        self._send({"id": ident, "method": method, "params": params})
        try:
            answer = self.responses[ident].get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{method}: no answer in {timeout} s") from None
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def start(self, root: Path) -> None:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {}},
                    "textDocument": {
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                    },
                },
                "initializationOptions": {},
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        with self.lock:
            self.diagnostics.pop(uri, None)
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}},
        )
        return uri

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def settled_diagnostics(self, uri: str, timeout: float = 20, quiet: float = 1.0) -> Any:
        """The last diagnostics published for `uri` once none came for `quiet` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                published = list(self.diagnostics.get(uri, []))
            if published and time.monotonic() - published[-1][0] >= quiet:
                return published[-1][1]
            time.sleep(0.1)
        raise TimeoutError(f"no diagnostics published for {uri} in {timeout} s")

    def stop(self) -> None:
        try:
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
            self.process.wait(timeout=5)
        except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired):
            self.process.kill()


def _section(section: str | None) -> Any:
    value: Any = SETTINGS
    for part in (section or "").split("."):
        if part:
            value = value.get(part) if isinstance(value, dict) else None
    return value


# --- documents ----------------------------------------------------------------------------

CURSOR = "<|>"

QUESTION = f"""\
questions:
  - id: first
    type: single
    {CURSOR}
"""

EXPERIMENT = f"""\
questions:
  - id: first
    type: single
    title: t
    prompt: p
    topic: demo
    experiment:
      steps: 2
      {CURSOR}
"""

CHOICE = f"""\
questions:
  - id: first
    type: single
    title: t
    prompt: p
    topic: demo
    choices:
      - id: A
        {CURSOR}
"""

VERIFY = f"""\
questions:
  - id: first
    type: single
    title: t
    prompt: p
    topic: demo
    verify:
      {CURSOR}
"""

NUMERIC_ANSWER = f"""\
questions:
  - id: first
    type: numeric
    title: t
    prompt: p
    topic: demo
    answer:
      expr: w.grad.item()
      {CURSOR}
"""

TYPE_VALUE = f"""\
questions:
  - id: first
    type: {CURSOR}
"""

TOP = f"""\
{CURSOR}
"""

SINGLE_QUESTION_FILE = f"""\
id: first
type: truefalse
{CURSOR}
"""

MISTAKES = """\
pack:
  title: Mistakes
questions:
  - id: mistakes
    type: truefalse
    title: t
    prompt: p
    topic: demo
    tpyo: 1
    difficulty: hard
    experiment:
      steps: many
      wacth: {w: w}
      timeout: 500
    answer: true
"""


def _question(type_: str, rest: str) -> str:
    return (
        f"questions:\n  - id: q\n    type: {type_}\n    title: t\n    prompt: p\n"
        f"    topic: demo\n{rest}"
    )


TYPE_MISTAKES = [
    (_question("truefalse", "    answer: A\n"), "truefalse with `answer: A` (not a boolean)"),
    (_question("single", "    answer: A\n"), "single without `choices`"),
    (
        _question("order", "    experiment: {steps: 1}\n    answer: A\n    lines: [x = 1]\n"),
        "order with an `answer`",
    ),
    (
        _question("numeric", "    answer: 3\n    experiment: {steps: 1}\n"),
        "numeric with `answer: 3`",
    ),
]

HOVER = """\
questions:
  - id: first
    type: single
    topic: demo
    experiment:
      watch: {w: w}
"""


def _cut(text: str) -> tuple[str, dict[str, int]]:
    """Text without the cursor mark, and the mark's LSP position."""
    before, mark, after = text.partition(CURSOR)
    assert mark, "no cursor in document"
    lines = before.split("\n")
    return before + after, {"line": len(lines) - 1, "character": len(lines[-1])}


def _items(result: Any) -> list[dict[str, Any]]:
    return result.get("items", []) if isinstance(result, dict) else result or []


def _labels(result: Any) -> set[str]:
    return {str(item["label"]).strip() for item in _items(result)}


def _bare_keys(result: Any) -> set[str]:
    """Key completions that would insert the key without `:`, leaving invalid YAML."""
    return {
        str(item["label"])
        for item in _items(result)
        if item.get("kind") == 10 and ":" not in str(item.get("insertText", item["label"]))
    }


def _hover_text(result: Any) -> str:
    if not result:
        return ""
    contents = result.get("contents")
    if isinstance(contents, dict):
        return str(contents.get("value", ""))
    if isinstance(contents, list):
        return "\n".join(c if isinstance(c, str) else str(c.get("value", "")) for c in contents)
    return str(contents or "")


def _show(diagnostics: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{d['range']['start']['line'] + 1}:{d['range']['start']['character'] + 1} {d['message']}"
        for d in diagnostics
    )


# --- checks -------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"\n      {detail}" if detail else ""))
        sys.stdout.flush()
        return ok


class Checker:
    def __init__(self, server: Server, report: Report, workdir: Path, header: str) -> None:
        self.server = server
        self.report = report
        self.workdir = workdir
        self.header = header  # the whole first line
        self.count = 0

    def document(self) -> Path:
        self.count += 1
        return self.workdir / f"doc{self.count}.yaml"

    def with_doc(self, body: str, use: Callable[[str, dict[str, int] | None], Any]) -> Any:
        text = f"{self.header}\n{body}"
        position = None
        if CURSOR in text:
            text, position = _cut(text)
        path = self.document()
        path.write_text(text, encoding="utf-8")
        uri = self.server.open(path, text)
        try:
            # Diagnostics arrive once the schema is loaded: wait so completion sees it too.
            self.server.settled_diagnostics(uri)
            return use(uri, position)
        finally:
            self.server.close(uri)

    def completion(
        self, name: str, body: str, want: set[str], exact: bool = False, keys: bool = True
    ) -> None:
        def use(uri: str, position: dict[str, int] | None) -> Any:
            return self.server.request(
                "textDocument/completion",
                {"textDocument": {"uri": uri}, "position": position},
            )

        result = self.with_doc(body, use)
        got = _labels(result)
        missing = want - got
        extra = got - want if exact else set()
        self.report.check(
            name,
            not missing and not extra,
            f"offered: {sorted(got)}"
            + (f"; missing: {sorted(missing)}" if missing else "")
            + (f"; unexpected: {sorted(extra)}" if extra else ""),
        )
        if keys:
            bare = _bare_keys(result) & want
            self.report.check(
                f"{name}: each inserts `key:`",
                not bare,
                f"insert the bare word, no colon: {sorted(bare)}" if bare else "",
            )

    def diagnostics(self, body: str) -> list[dict[str, Any]]:
        return self.with_doc(body, lambda uri, _: self.server.settled_diagnostics(uri))  # type: ignore[no-any-return]

    def hover(self, name: str, body: str, line: int, key: str, want: str) -> None:
        def use(uri: str, _: Any) -> str:
            lines = body.split("\n")
            position = {"line": line + 1, "character": lines[line].index(key) + 1}
            return _hover_text(
                self.server.request(
                    "textDocument/hover", {"textDocument": {"uri": uri}, "position": position}
                )
            )

        got = self.with_doc(body, use)
        self.report.check(name, want in got, f"hover: {got!r}")


def run_checks(checker: Checker, report: Report, gradquiz: str | None, new: bool) -> None:
    # (a) keys
    checker.completion(
        "completion: question keys in a pack", QUESTION, QUESTION_KEYS - {"id", "type"}
    )
    checker.completion(
        "completion: question keys in a one-question file",
        SINGLE_QUESTION_FILE,
        QUESTION_KEYS - {"id", "type"},
    )
    checker.completion("completion: file keys at the top", TOP, {"pack", "questions"})
    checker.completion("completion: experiment keys", EXPERIMENT, EXPERIMENT_KEYS - {"steps"})
    checker.completion("completion: choice keys", CHOICE, CHOICE_KEYS - {"id"})
    checker.completion("completion: verify keys", VERIFY, VERIFY_KEYS)
    checker.completion(
        "completion: numeric answer keys", NUMERIC_ANSWER, NUMERIC_ANSWER_KEYS - {"expr"}
    )
    # (b) values
    checker.completion("completion: type values", TYPE_VALUE, set(TYPES), exact=True, keys=False)

    # (c) mistakes are flagged, each on its own line
    found = checker.diagnostics(MISTAKES)
    lines = {d["range"]["start"]["line"] for d in found}  # 0-based, header is line 0
    text = _show(found)
    report.check("diagnostics: unknown question key `tpyo` flagged", 9 in lines, text)
    report.check("diagnostics: `difficulty: hard` (not an integer) flagged", 10 in lines, text)
    report.check("diagnostics: `steps: many` (not an integer) flagged", 12 in lines, text)
    report.check("diagnostics: unknown experiment key `wacth` flagged", 13 in lines, text)
    report.check("diagnostics: `timeout: 500` (above 120) flagged", 14 in lines, text)

    # (c) the per-type rules
    for body, what in TYPE_MISTAKES:
        found = checker.diagnostics(body)
        report.check(f"diagnostics: {what} flagged", bool(found), _show(found))

    # (c) a question whose type is not written yet: only the missing type, no other type's keys
    found = checker.diagnostics(
        "questions:\n  - id: q\n    title: t\n    prompt: p\n    topic: demo\n"
    )
    report.check(
        "diagnostics: a question without `type` is told only that",
        len(found) == 1 and "type" in found[0]["message"],
        _show(found),
    )

    # (c) what gradquiz new writes, and the bundled packs, are clean
    if not new:
        pass
    elif gradquiz is None:
        report.check("diagnostics: `gradquiz new` files", False, "no gradquiz found: --gradquiz")
    else:
        for kind in TYPES:
            target = checker.workdir / f"new-{kind}.yaml"
            target.unlink(missing_ok=True)
            subprocess.run(
                [gradquiz, "new", f"my-{kind}", "--type", kind, "-o", str(target)],
                check=True,
                capture_output=True,
            )
            text = target.read_text(encoding="utf-8")
            uri = checker.server.open(target, text)
            found = checker.server.settled_diagnostics(uri)
            checker.server.close(uri)
            report.check(
                f"diagnostics: none in `gradquiz new --type {kind} -o FILE` "
                f"({text.splitlines()[0].split('=', 1)[1]})",
                found == [],
                _show(found),
            )
    for pack in sorted((REPO / "questions").glob("*.yaml")):
        found = checker.diagnostics(pack.read_text(encoding="utf-8"))
        report.check(f"diagnostics: none in questions/{pack.name}", found == [], _show(found))

    # (d) hover
    checker.hover("hover: question key `topic`", HOVER, 3, "topic", "Slug grouping drills")
    checker.hover("hover: experiment key `watch`", HOVER, 5, "watch", "gradient table")


def header_forms(schema: Path, workdir: Path) -> dict[str, str]:
    return {
        "file:// URI": f"# yaml-language-server: $schema={schema.as_uri()}",
        "absolute path": f"# yaml-language-server: $schema={schema}",
        "relative path": f"# yaml-language-server: $schema={os.path.relpath(schema, workdir)}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", help="path to yaml-language-server's bin/yaml-language-server")
    parser.add_argument("--node", default="node", help="the node executable (default: node)")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help="schema file to name")
    parser.add_argument(
        "--gradquiz",
        default=str(REPO / ".venv" / "bin" / "gradquiz")
        if (REPO / ".venv" / "bin" / "gradquiz").exists()
        else shutil.which("gradquiz"),
        help="gradquiz executable for `new` (default: .venv/bin/gradquiz)",
    )
    parser.add_argument(
        "--form",
        choices=["file:// URI", "absolute path", "relative path", "all"],
        default="all",
        help="header form(s) to try the full checks with (default: all)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the server's messages")
    args = parser.parse_args()

    report = Report()
    with tempfile.TemporaryDirectory(prefix="editor-check-") as temp:
        workdir = Path(temp).resolve() / "packs"
        workdir.mkdir()
        server = Server([args.node, args.server, "--stdio"], verbose=args.verbose)
        try:
            server.start(workdir)
            package = Path(args.server).resolve().parent.parent / "package.json"
            version = json.loads(package.read_text()).get("version") if package.exists() else "?"
            print(f"server: {args.server} (yaml-language-server {version})")
            print(f"schema: {args.schema.resolve()}")
            forms = header_forms(args.schema.resolve(), workdir)
            for form, header in forms.items():
                if args.form not in ("all", form):
                    continue
                print(f"\n== header form: {form}\n   {header}")
                checker = Checker(
                    server, report, workdir / form.replace(" ", "-").replace("/", ""), header
                )
                checker.workdir.mkdir()
                # The relative form is relative to the document's folder.
                checker.header = header_forms(args.schema.resolve(), checker.workdir)[form]
                # `gradquiz new -o FILE` writes the relative form: check its files there.
                run_checks(checker, report, args.gradquiz, new=form == "relative path")
        except (TimeoutError, RuntimeError) as exc:
            report.check("the server answered", False, f"{exc}\n{''.join(server.stderr)[-2000:]}")
        finally:
            server.stop()
    print(f"\n{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
