"""Parsed files are reused only for the same bytes, path and format code; anything else parses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.format import cache, load
from gradquiz.format.library import load_pack
from tests.conftest import write

PACK = """\
pack:
  title: Cached
questions:
  - id: cached-truth
    type: truefalse
    topic: caching
    title: {{en: Is it cached?}}
    prompt: {{en: "{prompt}"}}
    answer: true
"""


def pack(tmp_path: Path, prompt: str = "Yes.") -> Path:
    return write(tmp_path, "pack.yaml", PACK.format(prompt=prompt))


def entries() -> list[Path]:
    return sorted(locations.cache_dir().glob("*.pickle"))


def test_a_second_load_comes_from_the_cache_and_equals_the_first(tmp_path: Path) -> None:
    file = pack(tmp_path)
    first = load_pack(file)
    assert len(entries()) == 1
    assert load_pack(file) == first
    assert first[1][0].prompt.get() == "Yes."


def test_a_cached_file_loads_without_importing_yaml(tmp_path: Path) -> None:
    file = pack(tmp_path)
    load_pack(file)
    code = (
        "import sys; from pathlib import Path; from gradquiz.format import load; "
        f"library = load([Path({str(file)!r})]); "
        "print(library.questions[0].id, 'yaml' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    assert out.split() == ["cached-truth", "False"]


def test_an_edit_is_parsed_afresh_and_carries_its_own_hash(tmp_path: Path) -> None:
    file = pack(tmp_path)
    before, _, _ = load_pack(file)
    pack(tmp_path, prompt="Edited.")
    after, questions, _ = load_pack(file)
    assert questions[0].prompt.get() == "Edited."
    assert after.sha256 != before.sha256
    assert len(entries()) == 1  # one entry per path, overwritten


def test_the_same_bytes_under_another_path_name_that_path(tmp_path: Path) -> None:
    one = pack(tmp_path / "one")
    other = pack(tmp_path / "other")
    load_pack(one)
    _, questions, _ = load_pack(other)
    assert questions[0].where("id").file == str(other)
    assert questions[0].pack.file == str(other)


def test_problems_come_back_from_the_cache_with_their_locations(tmp_path: Path) -> None:
    file = write(tmp_path, "bad.yaml", PACK.format(prompt="x").replace("answer: true", "answer: 3"))
    first = load_pack(file)[2]
    again = load_pack(file)[2]
    assert again == first
    assert [(p.location.file, p.location.line) for p in again] == [(str(file), 9)]


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05garbage"])
def test_a_damaged_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage: bytes) -> None:
    file = pack(tmp_path)
    expected = load_pack(file)
    [entry] = entries()
    entry.write_bytes(damage)
    assert load_pack(file) == expected
    assert entry.read_bytes() != damage


def test_an_entry_for_other_bytes_or_other_format_code_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = pack(tmp_path)
    sha256 = load_pack(file)[0].sha256
    assert cache.get(str(file), sha256) is not None
    assert cache.get(str(file), "0" * 64) is None
    monkeypatch.setattr(cache, "code_version", lambda: "another gradquiz")
    assert cache.get(str(file), sha256) is None


def test_an_unwritable_cache_directory_still_loads(tmp_path: Path) -> None:
    file = pack(tmp_path)
    home = Path(os.environ["GRADQUIZ_HOME"])
    home.mkdir(parents=True)
    (home / "cache").write_text("a file where the directory should be")
    library = load([file])
    assert [q.id for q in library.questions] == ["cached-truth"]
    assert library.problems == []
