"""Instructor tooling: `new`, the stronger `check` (formats, --strict, --watch), `schema -o`,
`run --format`, `export`."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml

from gradquiz.cli import main
from gradquiz.cli import new as new_command
from gradquiz.cli.check import Report, collect, render_json, render_junit, render_text, watch
from gradquiz.cli.share import run_markdown
from gradquiz.format import load
from gradquiz.format.schema import SCHEMA_FILE, json_schema, schema_text
from gradquiz.lab.client import Lab
from gradquiz.lab.protocol import requests_for
from tests.conftest import PACKS, write

GOOD = PACKS / "good.yaml"
TYPES = ("single", "multiple", "truefalse", "numeric", "order")


# --- gradquiz new -------------------------------------------------------------------------


def test_new_writes_a_file_of_every_type_that_checks_clean(tmp_path: Path, lab: Lab) -> None:
    for kind in TYPES:
        assert main(["new", f"my-{kind}", "--type", kind, "-o", str(tmp_path / kind)]) == 0
    library = load([tmp_path / kind for kind in TYPES])
    assert library.problems == []
    assert [(q.id, q.type) for q in library.questions] == [(f"my-{k}", k) for k in TYPES]
    report = collect(library, lambda _: True, lab=lab)
    assert (report.problems, report.warnings) == ([], [])
    # Every template proves its key: verify or a numeric value (order is graded by running).
    by_type = {q.type: q for q in library.questions}
    assert all(by_type[k].verify is not None for k in ("single", "multiple", "truefalse"))
    assert by_type["numeric"].answer.value == 72.0  # type: ignore[union-attr]


def test_new_points_editors_at_the_shipped_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "from-stdout", "--type", "numeric"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_FILE}"
    path = tmp_path / "deep" / "pack.yaml"
    path.parent.mkdir()
    assert main(["new", "to-file", "-o", str(path)]) == 0
    header = path.read_text(encoding="utf-8").splitlines()[0]
    relative = header.removeprefix("# yaml-language-server: $schema=")
    assert not Path(relative).is_absolute()
    assert (path.parent / relative).resolve() == SCHEMA_FILE
    # What the editor validates against accepts what `new` writes.
    for text in (printed, path.read_text(encoding="utf-8")):
        jsonschema.validate(yaml.safe_load(text), json_schema())


def test_new_refuses_to_overwrite_and_checks_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = write(tmp_path, "mine.yaml", "keep me\n")
    assert main(["new", "fresh", "-o", str(existing)]) == 2
    assert capsys.readouterr().err == f"gradquiz: {existing} exists; not overwriting it\n"
    assert existing.read_text() == "keep me\n"
    for bad in ("Has-Capitals", "two--dashes", "trailing-", "with space"):
        assert main(["new", bad, "-o", str(tmp_path / "x.yaml")]) == 2
        assert capsys.readouterr().err == (
            f"gradquiz: {bad!r} is not a valid question id: use lowercase letters, digits "
            "and single '-' between them, e.g. grad-accumulates\n"
        )
    assert not (tmp_path / "x.yaml").exists()
    assert main(["new", "ok", "--type", "essay"]) == 2
    assert "invalid choice: 'essay'" in capsys.readouterr().err


# --- check: warnings in every format ------------------------------------------------------

# good.yaml with one wrong key (a problem) and a numeric tolerance that also accepts x[0]
# after the first step (a warning).
MIXED = (
    GOOD.read_text(encoding="utf-8")
    .replace("answer: [A, C]", "answer: [A, B]")
    .replace("tolerance: 0.001, value: 0.7", "tolerance: 0.25, value: 0.7")
)
TOLERANCE_WARNING = (
    "tolerance 0.25 also accepts 0.9 (x at step 1), which is 0.2 from the answer 0.7; "
    "make it smaller than 0.2"
)
KEY_PROBLEM = "answer key says A, B but the experiment proves A, C"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, lab: Lab) -> Iterator[Report]:
    path = write(tmp_path_factory.mktemp("mixed"), "mixed.yaml", MIXED)
    library = load([path])
    broken = write(path.parent, "broken.yaml", "id: x\ntype: single\n  title: [\n")
    library.problems.extend(load([broken]).problems)
    library.files.append(str(broken))
    yield collect(library, lambda _: True, lab=lab)


def test_text_report_marks_warnings(mixed: Report) -> None:
    out, err = io.StringIO(), io.StringIO()
    render_text(mixed, out, err)
    file = mixed.library.files[0]
    broken = mixed.library.files[1]
    assert out.getvalue().splitlines() == [
        f"{broken}:3:8: YAML: mapping values are not allowed in this context",
        f"{file}:59:5: warning: {TOLERANCE_WARNING}",
        f"{file}:88:5: {KEY_PROBLEM}",
    ]
    assert err.getvalue().splitlines()[0].endswith(": 2 problems, 1 warning")
    assert (mixed.exit_code(), mixed.exit_code(strict=True)) == (1, 1)


def test_json_report_has_problems_warnings_and_counts(mixed: Report) -> None:
    document = json.loads(render_json(mixed))
    file = mixed.library.files[0]
    assert document["warnings"] == [
        {
            "file": file,
            "line": 59,
            "column": 5,
            "severity": "warning",
            "message": TOLERANCE_WARNING,
        }
    ]
    assert [(p["line"], p["severity"], p["message"]) for p in document["problems"]] == [
        (3, "error", "YAML: mapping values are not allowed in this context"),
        (88, "error", KEY_PROBLEM),
    ]
    assert document["counts"] == {
        "problems": 2,
        "warnings": 1,
        "questions": 5,
        "files": 2,
        "runs": 8,
        "not_run": 0,
    }
    assert document["exit_code"] == 1


@pytest.mark.parametrize("strict", [False, True])
def test_junit_has_a_testcase_per_question_and_a_failure_per_problem(
    mixed: Report, strict: bool
) -> None:
    root = ElementTree.fromstring(render_junit(mixed, strict))
    assert root.tag == "testsuites"
    file, broken = mixed.library.files
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == [file, broken]
    cases = {c.get("name"): c for c in suites[file].iter("testcase")}
    assert list(cases) == ["accumulate", "step-rule", "retain", "reduction", "loop-order"]
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == ({"reduction", "step-rule"} if strict else {"reduction"})
    failure = cases["reduction"].find("failure")
    assert failure is not None
    assert failure.get("message") == KEY_PROBLEM
    assert failure.text == f"{file}:88:5: {KEY_PROBLEM}"
    step_rule = cases["step-rule"]
    if strict:
        assert step_rule.find("failure").get("type") == "warning"  # type: ignore[union-attr]
    else:
        assert step_rule.findtext("system-out") == f"{file}:59:5: warning: {TOLERANCE_WARNING}"
    [load_case] = suites[broken].iter("testcase")
    assert load_case.get("name") == "load"
    assert load_case.find("failure") is not None
    assert suites[file].get("tests") == "5"
    assert root.get("failures") == ("3" if strict else "2")


@pytest.mark.usefixtures("warm_cli")
def test_check_cli_warnings_keep_exit_zero_unless_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warned = write(
        tmp_path,
        "warned.yaml",
        GOOD.read_text(encoding="utf-8").replace(
            "tolerance: 0.001, value: 0.7", "tolerance: 0.25, value: 0.7"
        ),
    )
    assert main(["check", str(warned)]) == 0
    assert capsys.readouterr().out == f"{warned}:59:5: warning: {TOLERANCE_WARNING}\n"
    assert main(["check", str(warned), "--strict", "--format", "junit"]) == 1
    assert ElementTree.fromstring(capsys.readouterr().out).get("failures") == "1"


# --- check --watch --------------------------------------------------------------------------


def save(path: Path, text: str) -> None:
    """Save as editors do, in one step, with a modification time surely newer than before
    (some file systems keep mtimes to the second)."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    later = path.stat().st_mtime_ns + 2_000_000_000
    os.utime(temporary, ns=(later, later))
    temporary.replace(path)


def test_watch_checks_again_when_a_file_is_saved(tmp_path: Path) -> None:
    path = write(tmp_path, "pack.yaml", "first\n")
    calls: queue.Queue[str] = queue.Queue()
    out = io.StringIO()
    stop = threading.Event()
    result: list[int] = []

    def check_once() -> None:
        calls.put(path.read_text())

    thread = threading.Thread(
        target=lambda: result.append(watch([tmp_path], check_once, out, stop, interval=0.01))
    )
    thread.start()
    try:
        assert calls.get(timeout=30) == "first\n"
        save(path, "second\n")
        assert calls.get(timeout=30) == "second\n"
        write(tmp_path, "added.yml", "third\n")
        assert calls.get(timeout=30) == "second\n"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result == [0]
    headers = out.getvalue().splitlines()
    assert len(headers) == 3
    assert all(re.fullmatch(r"--- \d\d:\d\d:\d\d checking \d files?", h) for h in headers)
    assert headers[2].endswith("checking 2 files")
    assert calls.empty()


def test_check_watch_reports_afresh_and_ctrl_c_exits_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "pack.yaml", GOOD.read_text(encoding="utf-8"))
    process = subprocess.Popen(
        [sys.executable, "-m", "gradquiz", "check", "--watch", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first = _read_until(process, "no problems")
        assert re.search(r"--- \d\d:\d\d:\d\d checking 1 file", first)
        save(path, MIXED)
        second = _read_until(process, "1 warning")
        assert f"{path}:88:5: {KEY_PROBLEM}" in second
        assert f"{path}:59:5: warning: {TOLERANCE_WARNING}" in second
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_check_watch_in_json_keeps_stdout_to_the_reports(tmp_path: Path) -> None:
    path = write(tmp_path, "pack.yaml", GOOD.read_text(encoding="utf-8"))
    stdout = tmp_path / "stdout.json"
    with stdout.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gradquiz", "check", "--watch", "--format", "json", str(path)],
            stdout=sink,
            stderr=subprocess.PIPE,
        )
    try:
        deadline = time.monotonic() + 120
        while "}\n" not in stdout.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, stdout.read_text(encoding="utf-8")
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert json.loads(stdout.read_text(encoding="utf-8"))["counts"]["problems"] == 0
    assert re.search(r"--- \d\d:\d\d:\d\d checking 1 file", err.decode())


def _read_until(process: subprocess.Popen[bytes], marker: str, seconds: float = 120) -> str:
    """Everything the process writes (stdout and stderr) from now until `marker` shows up.

    Raw reads on the pipes' descriptors: select() cannot see what a Python-level buffer holds.
    """
    assert process.stdout is not None and process.stderr is not None
    fds = [process.stdout.fileno(), process.stderr.fileno()]
    seen = b""
    deadline = time.monotonic() + seconds
    while marker.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} in {seen!r}"
        ready, _, _ = select.select(fds, [], [], left)
        for fd in ready:
            data = os.read(fd, 1 << 16)
            assert data or process.poll() is None, seen
            seen += data
    return seen.decode()


# --- schema -------------------------------------------------------------------------------


def test_shipped_schema_file_is_what_the_code_says(tmp_path: Path) -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == json_schema()


def _properties(schema: object, path: str = "") -> Iterator[tuple[str, dict[str, object]]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in schema.items():
            # allOf holds the per-type conditions, which narrow properties declared above.
            if key != "allOf":
                yield from _properties(sub, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from _properties(sub, f"{path}[{index}]")


def test_every_property_has_a_description_for_hover_help() -> None:
    properties = list(_properties(json_schema()))
    assert len(properties) >= 38  # every key of format v1, in each place it appears
    assert [path for path, sub in properties if not sub.get("description")] == []


def _subschemas(schema: object) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for sub in schema.values():
            yield from _subschemas(sub)
    elif isinstance(schema, list):
        for sub in schema:
            yield from _subschemas(sub)


def test_schema_keeps_to_what_yaml_language_server_completes_well() -> None:
    # tools/editor_check.py proves these with a real server; this keeps them without Node.
    schema = json_schema()
    for sub in _subschemas(schema["$defs"]):
        # A key whose schema is a oneOf completes as the bare word, without `: `.
        assert "oneOf" not in sub, sub
        # An `if` without `type` required would hold before `type` is written.
        if "if" in sub:
            assert sub["if"]["required"] == ["type"], sub
    # Titles name schemas in hover headings and in the insert-every-required-key completion.
    question = schema["$defs"]["question"]
    assert question["title"] == "question"
    for name in ("experiment", "verify"):
        assert question["properties"][name]["title"] == name
    assert question["properties"]["choices"]["items"]["title"] == "choice"
    # The per-type rules still hold: an order question takes no answer (`answer: false`).
    order = yaml.safe_load(new_command.template("q", "order"))
    assert jsonschema.Draft202012Validator(schema).is_valid(order)
    order["questions"][0]["answer"] = "A"
    assert not jsonschema.Draft202012Validator(schema).is_valid(order)


def test_schema_rejects_unknown_keys_at_every_level() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    pack = yaml.safe_load(new_command.template("q", "single"))
    assert validator.is_valid(pack)
    question = pack["questions"][0]
    for where in (pack, pack["pack"], question, question["experiment"], question["choices"][0]):
        where["colour"] = "red"
        assert not validator.is_valid(pack)
        del where["colour"]


# --- run --format and export ------------------------------------------------------------


@pytest.mark.usefixtures("warm_cli")
def test_run_csv_is_tidy_with_full_precision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "retain", "--format", "csv", "--no-bundled", "--questions", str(GOOD)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == {
        "question": "retain",
        "variant": "main",
        "step": "1",
        "column": "x.grad",
        "value": "4.0",
        "error": "",
    }
    assert rows[1]["step"] == "2"
    assert rows[1]["error"].startswith("RuntimeError: Trying to backward through the graph")
    assert len(rows) == 2


def test_run_markdown_tables(lab: Lab) -> None:
    question = load([GOOD]).get("accumulate")
    assert question is not None
    results = {r.variant: r for r in lab.run_all(requests_for(question))}
    text = run_markdown(question, results, None)
    assert text.startswith("### Does .grad pile up? (`accumulate`)\n")
    assert "\n**B** ✓ no zero_grad\n" in text
    # The code that ran: the shared setup once, each variant's own step code.
    assert "Setup, shared by every variant:\n\n```python\nmodel = nn.Sequential(" in text
    assert "- w.grad: `model[0].weight.grad`\n" in text
    assert (
        "Step code (this choice's own, run 10 times):\n\n```python\nloss = criterion(model(x), y)"
        "\nloss.backward()\noptimizer.step()\n```" in text
    )
    assert (
        "\nA differs from B first at step 2, in w.grad: [-0.585088] against [-1.173027]; "
        "the gap grows with the step (gradients piling up).\n" in text
    )
    assert "| step | w.grad | w | loss |\n|---:|---:|---:|---:|\n" in text
    assert "| 3 | [-1.752409] | [-0.212025] | 0.866029 |" in text


@pytest.mark.usefixtures("warm_cli")
def test_export_writes_a_handout_of_the_whole_pack(tmp_path: Path) -> None:
    out = tmp_path / "handout.md"
    assert main(["export", str(GOOD), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    titles = re.findall(r"^## (.*)$", text, re.MULTILINE)
    assert titles == [
        "Does .grad pile up?",
        "x - lr * grad",
        "Second backward",
        "Which runs give the same gradient?",
        "Order the loop",
    ]
    assert text.startswith("# Test pack\n\nSmall questions whose numbers")
    assert "**Answer:** **B**: no zero_grad" in text
    assert "**Answer:** **0.700000** (accepted within ±0.001)" in text
    assert "**Answer:** **true**" in text
    assert "- Why not A: Clearing every step keeps each gradient fresh." in text
    assert "| 3 | [-1.752409] | [-0.212025] | 0.866029 |" in text  # B's third step
    assert "Raised at step 2: `RuntimeError: Trying to backward through the graph" in text


def test_export_refuses_a_pack_with_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write(tmp_path, "broken.yaml", "id: x\ntype: single\n  title: [\n")
    assert main(["export", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:3:8: YAML: mapping values" in err
