"""The bundled packs ship inside the wheel and are found there, not only in a checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import yaml

from gradquiz import locations
from gradquiz.format.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_and_finds_the_bundled_packs(tmp_path: Path) -> None:
    # Built from a copy: setuptools keeps a build/ directory that would go stale in the tree.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "gradquiz", "questions"):
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("gradquiz-*.whl")
    shipped = {Path(n).name for n in zipfile.ZipFile(wheel).namelist() if "/questions/" in n}
    assert shipped == {p.name for p in (ROOT / "questions").glob("*.yaml")}
    # Editors read the schema from the installed package (see `gradquiz new`).
    assert "gradquiz/format/question.schema.json" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = "from gradquiz import locations; print(locations.bundled_questions())"
    # -S skips site-packages and with it the editable install pointing at this checkout.
    found = subprocess.run(
        [sys.executable, "-S", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
    ).stdout.strip()
    assert found == str(target / "gradquiz" / "questions")


def test_bundled_packs_match_the_published_schema() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(locations.bundled_questions().glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        jsonschema.validate(json.loads(json.dumps(document)), schema)


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    question = {"id": "q", "type": "single", "title": "t", "prompt": "p", "topic": "t"}
    bad = [
        {**question, "colour": "red"},
        {**question, "id": "Not A Slug"},
        {**question, "difficulty": 4},
        {**question, "type": "essay"},
    ]
    for document in bad:
        assert not jsonschema.Draft202012Validator(schema).is_valid(document), document
