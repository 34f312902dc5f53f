"""docs/authoring.md cannot rot: every YAML example loads, complete packs run and pass check
without a problem or a warning, and the check output shown is what check prints."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml

from gradquiz.cli.check import collect, render_text
from gradquiz.format import load
from gradquiz.format.loader import load_document
from gradquiz.format.problems import ProblemError
from gradquiz.format.schema import FILE_FIELDS, QUESTION_FIELDS, read_fields
from gradquiz.format.yamlsafe import Mapping, parse
from gradquiz.lab.client import Lab

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "authoring.md"
TEXT = GUIDE.read_text(encoding="utf-8")
# ```yaml, ```yaml broken (followed by the ```text check prints for it), ```yaml not-a-pack
BLOCKS = [
    (m.group(1), m.group(2) or "", m.group(3), TEXT[: m.start()].count("\n") + 1)
    for m in re.finditer(r"^```(\w*)(?: ([\w-]+))?\n(.*?)^```$", TEXT, re.MULTILINE | re.DOTALL)
]
YAML = [(kind, body, line) for language, kind, body, line in BLOCKS if language == "yaml"]


def _is_pack(body: str) -> bool:
    root = parse("doc.yaml", body)
    return isinstance(root, Mapping) and (
        root.get("questions") is not None or root.get("id") is not None
    )


PACKS = [(body, line) for kind, body, line in YAML if kind == "" and _is_pack(body)]
FRAGMENTS = [(body, line) for kind, body, line in YAML if kind == "" and not _is_pack(body)]


def test_the_guide_has_examples_of_every_kind_and_the_readme_links_it() -> None:
    assert {kind for kind, _, _ in YAML} == {"", "broken", "not-a-pack"}
    types = {q.type for body, line in PACKS for q in load_document(f"l{line}", parse("", body))[0]}
    assert types == {"single", "multiple", "truefalse", "numeric", "order", "trace"}
    assert "docs/authoring.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_format_document_holds_v1_and_is_linked() -> None:
    document = (ROOT / "docs" / "question-format.md").read_text(encoding="utf-8")
    # The frozen contract, then the extensions: the v1 part starts and ends as it did.
    v1 = document.index("# gradquiz question files, format v1")
    extensions = document.index("## Extensions since v1")
    assert v1 < document.index("- `GRADQUIZ_HOME` names the directory") < extensions
    assert "docs/question-format.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(question-format.md)" in TEXT


@pytest.mark.parametrize(("body", "line"), PACKS, ids=[f"line-{line}" for _, line in PACKS])
def test_complete_examples_run_and_check_clean(
    body: str, line: int, tmp_path: Path, lab: Lab
) -> None:
    path = tmp_path / f"example-at-line-{line}.yaml"
    path.write_text(body, encoding="utf-8")
    library = load([path])
    assert library.problems == []
    report = collect(library, lambda _: True, lab=lab)
    assert report.runs > 0
    assert (report.problems, report.warnings) == ([], [])


@pytest.mark.parametrize(("body", "line"), FRAGMENTS, ids=[f"line-{line}" for _, line in FRAGMENTS])
def test_fragments_are_valid_keys_with_valid_values(body: str, line: int) -> None:
    root = parse("fragment.yaml", body)
    fields = FILE_FIELDS if isinstance(root, Mapping) and root.get("pack") else QUESTION_FIELDS
    found: list[ProblemError] = []
    assert root is not None
    read_fields(root, fields, "a question", found)
    # A fragment is part of a question: only the keys it leaves out may be missing.
    assert [str(e.problem) for e in found if "is missing" not in e.problem.message] == []


def test_check_output_shown_is_what_check_prints(
    tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    [broken] = [body for kind, body, _ in YAML if kind == "broken"]
    after = TEXT.index("```yaml broken")
    shown = re.search(r"^```text\n(.*?)^```$", TEXT[after:], re.MULTILINE | re.DOTALL)
    assert shown is not None
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    report = collect(load(["broken.yaml"]), lambda _: True, lab=lab)
    out = io.StringIO()
    render_text(report, out, io.StringIO())
    assert out.getvalue() == shown.group(1)


def test_other_yaml_is_at_least_yaml() -> None:
    others = [body for kind, body, _ in YAML if kind == "not-a-pack"]
    assert others
    for body in others:
        assert isinstance(yaml.safe_load(body), dict)
