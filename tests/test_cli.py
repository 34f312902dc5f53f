from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.cli import main
from tests.conftest import PACKS, gradquiz, write

GOOD = str(PACKS / "good.yaml")
# In-process, on the session's warm lab; the end-to-end tests say so in their names.
pytestmark = pytest.mark.usefixtures("warm_cli")


def test_list_json_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", "--no-bundled", "--questions", GOOD]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["id"] for i in items] == [
        "accumulate",
        "step-rule",
        "retain",
        "reduction",
        "loop-order",
    ]
    first = items[0]
    assert {k: first[k] for k in ("id", "type", "topic", "title", "languages", "file")} == {
        "id": "accumulate",
        "type": "single",
        "topic": "training-loop",
        "title": "Does .grad pile up?",
        "languages": ["en", "zh"],
        "file": GOOD,
    }


def test_common_flags_work_before_and_after_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--no-bundled", "--questions", GOOD, "list", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["list", "--json", "--no-bundled", "--questions", GOOD]) == 0
    assert json.loads(capsys.readouterr().out) == before


def test_list_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--no-bundled", "--questions", GOOD, "--lang", "zh"]) == 0
    assert "梯度会累加吗？" in capsys.readouterr().out


def test_end_to_end_run_json_follows_the_contract() -> None:
    done = gradquiz("run", "accumulate", "--json", "--no-bundled", "--questions", GOOD)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["question"] == "accumulate"
    assert document["torch"] == "2.13.0"
    a, b = document["variants"]
    assert (a["id"], a["correct"], b["id"], b["correct"]) == ("A", False, "B", True)
    assert a["columns"] == ["w.grad", "w", "loss"]
    assert a["rows"][1]["step"] == 2
    assert a["rows"][1]["values"]["w.grad"][0][0] == pytest.approx(-0.585088, abs=1e-6)
    assert b["rows"][2]["values"]["w.grad"][0][0] == pytest.approx(-1.752409, abs=1e-6)
    assert a["error"] is None


def test_run_json_reports_errors_with_their_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "retain", "--json", "--no-bundled", "--questions", GOOD]) == 0
    [variant] = json.loads(capsys.readouterr().out)["variants"]
    # No `loss` and no experiment.graph: the row carries no graph.
    assert variant["rows"] == [{"step": 1, "values": {"x.grad": 4.0}, "graph": None}]
    assert variant["error"]["type"] == "RuntimeError"
    assert variant["error"]["step"] == 2
    assert variant["correct"] is None


def test_run_for_people_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "step-rule", "--no-bundled", "--questions", GOOD]) == 0
    out = capsys.readouterr().out
    assert "x - lr * grad" in out
    assert "[100.000000, 100.000000]" in out
    assert "answer: 0.700000" in out


def test_unknown_question_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "acumulate", "--no-bundled", "--questions", GOOD]) == 2
    assert capsys.readouterr().err == (
        "gradquiz: no question with id 'acumulate'; did you mean accumulate?\n"
    )


def test_check_clean_pack_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", GOOD]) == 0
    done = capsys.readouterr()
    assert done.out == ""
    assert done.err.startswith("5 questions in 1 file, 8 experiment runs in ")
    assert done.err.rstrip().endswith("no problems")


def test_check_reports_located_problems_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (PACKS / "good.yaml").read_text()
    bad = bad.replace("answer: [A, C]", "answer: [A, B]")
    bad = bad.replace("value: 0.7}", "value: 0.75}")
    write(tmp_path, "bad.yaml", bad)
    write(tmp_path, "broken.yaml", "id: x\ntype: single\n  title: [\n")
    assert main(["check", str(tmp_path)]) == 1
    done = capsys.readouterr()
    lines = done.out.splitlines()
    assert lines == [
        f"{tmp_path / 'bad.yaml'}:59:5: answer value is 0.75 but PyTorch computes 0.7",
        f"{tmp_path / 'bad.yaml'}:88:5: answer key says A, B but the experiment proves A, C",
        f"{tmp_path / 'broken.yaml'}:3:8: YAML: mapping values are not allowed in this context",
    ]
    assert done.err.startswith("5 questions in 2 files, 8 experiment runs in ")


def test_check_usage_errors_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"gradquiz: {tmp_path / 'missing.yaml'}: no such file or directory\n"
    )
    assert main(["check", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_end_to_end_check_survives_a_hostile_pack(tmp_path: Path) -> None:
    hostile = """\
questions:
  - id: forever
    type: truefalse
    title: t
    prompt: p
    topic: hostile
    experiment:
      code: |
        while True:
            pass
      timeout: 1
    answer: true
    verify: {expr: "True"}
  - id: crash
    type: truefalse
    title: t
    prompt: p
    topic: hostile
    experiment:
      code: |
        import os
        os._exit(9)
    answer: true
    verify: {expr: "True"}
"""
    write(tmp_path, "hostile.yaml", hostile)
    done = gradquiz("check", str(tmp_path))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{tmp_path / 'hostile.yaml'}:7:5: variant main: Timeout: timed out after 1 s",
        f"{tmp_path / 'hostile.yaml'}:19:5: variant main: WorkerDied: the experiment's "
        "process exited with code 9",
    ]


def test_untrusted_packs_are_listed_but_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADQUIZ_PATH", str(tmp_path))
    marker = tmp_path / "ran"
    write(
        tmp_path,
        "env.yaml",
        f"""\
id: from-env
type: truefalse
title: t
prompt: p
topic: t
experiment:
  code: open({str(marker)!r}, 'w').write('x')
answer: true
""",
    )
    assert main(["list", "--json", "--no-bundled"]) == 0
    assert [i["trusted"] for i in json.loads(capsys.readouterr().out)] == [False]
    assert main(["run", "from-env", "--no-bundled"]) == 2
    assert "is not trusted" in capsys.readouterr().err
    assert main(["check", "--no-bundled"]) == 0
    assert "not run: 1 question from packs found through" in capsys.readouterr().err
    assert not marker.exists()
    assert main(["run", "from-env", "--no-bundled", "--questions", str(tmp_path)]) == 0
    assert marker.exists()


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    question = schema["$defs"]["question"]
    assert question["additionalProperties"] is False
    assert question["required"] == ["id", "type", "title", "prompt", "topic"]
    assert question["properties"]["type"] == {
        "enum": ["single", "multiple", "truefalse", "numeric", "order", "trace"],
        "description": "single, multiple, truefalse, numeric, order or trace.",
    }


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


TRUSTY = """\
pack:
  title: Week one
  authors: [A. Teacher]
questions:
  - id: from-elsewhere
    type: truefalse
    title: t
    prompt: p
    topic: t
    experiment:
      setup: w = torch.ones(1, requires_grad=True)
      code: open(MARKER, 'w').write('x')
    answer: true
"""


def test_end_to_end_trust_then_run_until_the_file_changes(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    pack = write(tmp_path / "course", "week1.yaml", TRUSTY.replace("MARKER", repr(str(marker))))
    env = {**_env(), "GRADQUIZ_PATH": str(tmp_path / "course")}
    refused = gradquiz("run", "from-elsewhere", "--no-bundled", env=env)
    assert refused.returncode == 2
    assert f"trust it with `gradquiz trust {pack}`" in refused.stderr
    trusted = gradquiz("trust", str(pack), env=env)
    assert trusted.returncode == 0, trusted.stderr
    sha = hashlib.sha256(pack.read_bytes()).hexdigest()
    assert trusted.stdout.splitlines() == [
        f"trusted {pack.resolve()} (sha256 {sha[:12]})",
        "  “Week one”, by A. Teacher: 1 question, 2 code snippets",
    ]
    ran = gradquiz("run", "from-elsewhere", "--no-bundled", env=env)
    assert ran.returncode == 0, ran.stderr
    assert marker.exists()
    marker.unlink()
    pack.write_text(pack.read_text().replace("title: t\n", "title: edited\n", 1))
    again = gradquiz("run", "from-elsewhere", "--no-bundled", env=env)
    assert again.returncode == 2
    assert "changed since it was trusted" in again.stderr
    assert not marker.exists()


def test_packs_lists_origin_questions_and_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_pack = write(tmp_path / "env", "e.yaml", TRUSTY.replace("MARKER", "'x'"))
    listed = write(tmp_path / "set", "s.yaml", TRUSTY.replace("from-elsewhere", "from-settings"))
    changed = write(tmp_path / "set", "t.yaml", TRUSTY.replace("from-elsewhere", "changes"))
    write(locations.home(), "settings.toml", f'packs = ["{tmp_path / "set"}"]\n')
    monkeypatch.setenv("GRADQUIZ_PATH", str(env_pack))
    assert main(["trust", str(env_pack)]) == 0
    assert main(["trust", str(changed)]) == 0
    changed.write_text(changed.read_text() + "# edited\n")
    capsys.readouterr()
    assert main(["packs", "--json", "--questions", GOOD]) == 0
    items = {Path(i["path"]).name: i for i in json.loads(capsys.readouterr().out)}
    assert items["01-training-loop.yaml"]["origin"] == "bundled"
    assert items["01-training-loop.yaml"]["trust"] == "always trusted"
    assert (items["good.yaml"]["origin"], items["good.yaml"]["trust"]) == (
        "command line",
        "always trusted",
    )
    assert items["good.yaml"]["questions"] == 5
    assert (items["e.yaml"]["origin"], items["e.yaml"]["trust"]) == ("GRADQUIZ_PATH", "trusted")
    assert (items["s.yaml"]["origin"], items["s.yaml"]["trust"]) == ("settings", "not trusted")
    assert items["t.yaml"]["trust"] == "changed since trusted"
    assert items["s.yaml"]["authors"] == ["A. Teacher"] and items["s.yaml"]["snippets"] == 2
    assert main(["packs", "--no-bundled"]) == 0
    table = capsys.readouterr().out
    assert f"{listed}  settings" in table and "not trusted" in table


def test_trust_a_directory_refuses_the_broken_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "a-good.yaml", TRUSTY.replace("MARKER", "'x'"))
    broken = write(tmp_path, "b-broken.yaml", "questions:\n  - id: Not A Slug\n")
    assert main(["trust", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"trusted {(tmp_path / 'a-good.yaml').resolve()} (sha256 ")
    assert f"{broken}:2:" in captured.out
    assert f"not trusted: {broken} has" in captured.err
    assert main(["untrust", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(
        f"no longer trusted: {(tmp_path / 'a-good.yaml').resolve()} (sha256 "
    )
    assert main(["untrust", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path} was not trusted\n"


def test_trust_and_untrust_unknown_paths_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trust", str(tmp_path / "nope.yaml")]) == 2
    assert (
        capsys.readouterr().err
        == f"gradquiz: {tmp_path / 'nope.yaml'}: no such file or directory\n"
    )
    assert main(["untrust", str(tmp_path / "nope.yaml")]) == 2
    assert "nothing trusted there" in capsys.readouterr().err
    assert main(["trust", str(tmp_path)]) == 2
    assert "no *.yaml or *.yml files to trust" in capsys.readouterr().err


def test_trust_says_when_it_cannot_be_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADQUIZ_HOME", str(write(tmp_path, "a-file", "") / "home"))
    assert main(["trust", GOOD]) == 1
    err = capsys.readouterr().err
    assert "could not save trust to" in err and f"{GOOD} is not trusted" in err


def test_a_broken_settings_file_is_reported_and_list_still_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = write(locations.home(), "settings.toml", 'packs = ["a.yaml"\n')
    assert main(["list", "--json", "--no-bundled", "--questions", GOOD]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 5
    assert f"{file}:2:1: the settings file is not valid TOML" in captured.err


def test_a_corrupt_trust_file_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    write(locations.home(), "trust.json", "not json")
    assert main(["packs", "--no-bundled", "--questions", GOOD]) == 0
    assert "trust file is not valid JSON" in capsys.readouterr().err
