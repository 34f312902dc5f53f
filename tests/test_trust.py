"""The trust store: hashes by resolved path, atomic writes, and never a crash over its file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.format import load
from gradquiz.trust import TrustNotSaved, TrustStore, code_snippets, store_file
from tests.conftest import PACKS, write

SHA_A, SHA_B = "a" * 64, "b" * 64


def test_store_lives_under_home() -> None:
    assert store_file() == locations.home() / "trust.json"
    store = TrustStore.load()
    assert store.packs == {} and store.problem is None


def test_recorded_trust_survives_a_restart(tmp_path: Path) -> None:
    pack = write(tmp_path, "p.yaml", "questions: []\n")
    store = TrustStore.load()
    store.record(pack, SHA_A)
    again = TrustStore.load()
    assert again.sha256(pack) == SHA_A
    document = json.loads(store_file().read_text())
    assert document == {"version": 1, "packs": {str(pack.resolve()): {"sha256": SHA_A}}}
    # Written through a temporary file that is gone once it replaced the real one.
    assert sorted(p.name for p in store_file().parent.iterdir()) == ["trust.json"]


def test_trust_is_keyed_by_the_resolved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write(tmp_path, "real/p.yaml", "questions: []\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(pack)
    monkeypatch.chdir(tmp_path)
    store = TrustStore.load()
    store.record(Path("real/p.yaml"), SHA_A)
    assert store.sha256(link) == SHA_A
    assert store.sha256(pack) == SHA_A


def test_two_processes_trusting_at_once_keep_both(tmp_path: Path) -> None:
    first, second = TrustStore.load(), TrustStore.load()
    first.record(tmp_path / "one.yaml", SHA_A)
    second.record(tmp_path / "two.yaml", SHA_B)
    assert set(TrustStore.load().packs) == {str(tmp_path / "one.yaml"), str(tmp_path / "two.yaml")}


def test_forget_a_directory_withdraws_the_files_under_it_only(tmp_path: Path) -> None:
    store = TrustStore.load()
    store.record(tmp_path / "course/a.yaml", SHA_A)
    store.record(tmp_path / "course/deep/b.yaml", SHA_A)
    store.record(tmp_path / "course2/c.yaml", SHA_B)
    removed = store.forget(tmp_path / "course")
    assert set(removed) == {str(tmp_path / "course/a.yaml"), str(tmp_path / "course/deep/b.yaml")}
    assert set(TrustStore.load().packs) == {str(tmp_path / "course2/c.yaml")}
    assert store.forget(tmp_path / "nothing-here") == {}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"version": 1,\n "packs": {', "trust.json:2:"),
        ('{"packs": {"/x.yaml": {"sha256": "not hex"}}}', "trust.json: the trust file does not"),
        ("[1, 2]", "trust.json: the trust file does not"),
    ],
)
def test_a_corrupt_store_is_reported_and_treated_as_empty(text: str, where: str) -> None:
    store_file().parent.mkdir(parents=True)
    store_file().write_text(text)
    store = TrustStore.load()
    assert store.packs == {}
    assert store.problem is not None and where in store.problem
    # Trusting again writes a good file and keeps the broken one for its owner.
    store.record("/x.yaml", SHA_A)
    assert TrustStore.load().packs == {"/x.yaml": SHA_A}
    assert store_file().with_name("trust.json.corrupt").read_text() == text


def test_an_unwritable_home_says_so_and_keeps_trust_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = write(tmp_path, "not-a-directory", "")
    monkeypatch.setenv("GRADQUIZ_HOME", str(blocker / "home"))
    store = TrustStore.load()
    assert store.problem is None
    with pytest.raises(TrustNotSaved, match=r"could not save trust to .*not-a-directory"):
        store.record(tmp_path / "p.yaml", SHA_A)
    assert store.sha256(tmp_path / "p.yaml") == SHA_A
    assert TrustStore.load().packs == {}


def test_the_loader_hashes_the_bytes_it_parsed() -> None:
    library = load([PACKS / "good.yaml"])
    [pack] = library.packs
    assert pack.sha256 == hashlib.sha256((PACKS / "good.yaml").read_bytes()).hexdigest()
    assert all(q.pack.sha256 == pack.sha256 for q in library.questions)


def test_code_snippets_count_everything_that_would_run(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p.yaml",
        """\
questions:
  - id: two-variants
    type: single
    title: t
    prompt: p
    topic: t
    experiment:
      setup: w = torch.ones(1, requires_grad=True)
      watch: {g: w.grad}
    choices:
      - {id: A, text: a, code: (2 * w).sum().backward()}
      - {id: B, text: b, code: w.grad = None, setup: x = 1}
    answer: A
    verify: {expr: error is None}
  - id: no-code
    type: truefalse
    title: t
    prompt: p
    topic: t
    answer: true
""",
    )
    library = load([tmp_path])
    assert not library.problems, library.problems
    first, second = library.questions
    # setup, the watch, two choices' code, one choice's setup, verify.
    assert len(code_snippets(first)) == 6
    assert code_snippets(second) == []
