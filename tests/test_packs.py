"""Where packs come from (bundled, command line, GRADQUIZ_PATH, settings) and whether they run."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz import settings as settings_file
from gradquiz.packs import Catalog, FixedTrust, discover
from gradquiz.trust import TrustStore
from tests.conftest import write

PACK = """\
pack:
  title: Week one
  authors: [A. Teacher, B. Helper]
questions:
  - id: {id}
    type: truefalse
    title: t
    prompt: p
    topic: t
    experiment:
      setup: w = torch.ones(1, requires_grad=True)
      code: (2 * w).sum().backward()
    answer: true
"""


def pack(directory: Path, name: str, question_id: str) -> Path:
    return write(directory, name, PACK.replace("{id}", question_id))


def settings(text: str) -> Path:
    return write(locations.home(), "settings.toml", text)


def test_settings_paths_expand_home_and_resolve_against_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    in_home = pack(tmp_path / "me/course", "week1.yaml", "in-home")
    beside = pack(locations.home() / "packs", "near.yaml", "beside")
    absolute = tmp_path / "abs"
    pack(absolute, "x.yaml", "absolute")
    file = settings(f'packs = ["~/course/week1.yaml", "packs/near.yaml", "{absolute}"]\n')
    read = settings_file.read(file)
    assert read.problems == ()
    assert read.packs == (in_home, beside, absolute)


def test_no_settings_file_is_no_problem() -> None:
    assert settings_file.read(locations.settings_file()) == settings_file.Settings(
        locations.settings_file()
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('# mine\npacks = ["a.yaml",\n  oops]\n', 3, 3, "not valid TOML"),
        ('daily = 20\npacks = "a.yaml"\n', 2, 1, "'packs' must be a list of paths"),
        ('packs = ["missing.yaml"]\n', 1, 1, "'missing.yaml'"),
    ],
)
def test_a_broken_settings_file_is_located_and_gradquiz_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, column: int, words: str
) -> None:
    file = settings(text)
    monkeypatch.setenv("GRADQUIZ_PATH", str(pack(tmp_path, "env.yaml", "from-env")))
    cat = discover(bundled=False)
    [problem] = cat.settings_problems
    assert (problem.location.file, problem.location.line, problem.location.column) == (
        str(file),
        line,
        column,
    )
    assert words in problem.message
    assert problem in cat.library.problems
    assert cat.notices() == [str(problem)]
    assert [q.id for q in cat.library.questions] == ["from-env"]


def test_every_source_has_its_origin_and_the_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = pack(tmp_path / "named", "n.yaml", "named")
    env_dir = tmp_path / "env"
    env = pack(env_dir, "e.yaml", "env")
    set_pack = pack(tmp_path / "set", "s.yaml", "set")
    monkeypatch.setenv("GRADQUIZ_PATH", f"{env_dir}:{named}")
    settings(f'packs = ["{set_pack}"]\n')
    cat = discover([named])
    origins = {Path(p.file).name: cat.summary(p).origin for p in cat.library.packs}
    assert origins["n.yaml"] == "command line"
    assert origins["e.yaml"] == "GRADQUIZ_PATH"
    assert origins["s.yaml"] == "settings"
    bundled = [p for p in cat.library.packs if cat.origin(p.file) == "bundled"]
    assert bundled and all(cat.state(p) == "always trusted" for p in bundled)
    assert cat.state(cat.library.packs[-1]) == "not trusted"
    assert [cat.trusted(q) for q in cat.library.questions if q.id in ("named", "env", "set")] == [
        True,
        False,
        False,
    ]
    assert "settings file" in cat.why_not(cat.library.packs[-1])
    assert env.name in cat.why_not(next(p for p in cat.library.packs if p.file == str(env)))


def test_trust_holds_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = pack(tmp_path, "p.yaml", "mine")
    monkeypatch.setenv("GRADQUIZ_PATH", str(file))
    cat = discover(bundled=False)
    [question] = cat.library.questions
    assert not cat.trusted(question)
    cat.trust(question.pack)
    assert cat.trusted(question)
    assert discover(bundled=False).state(question.pack) == "trusted"
    file.write_text(file.read_text() + "# one more line\n")
    changed = discover(bundled=False)
    assert changed.state(changed.library.packs[0]) == "changed since trusted"
    assert not changed.trusted(changed.library.questions[0])
    assert "changed since it was trusted" in changed.why_not(changed.library.packs[0])


def test_trust_that_cannot_be_saved_lasts_for_this_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADQUIZ_PATH", str(pack(tmp_path, "p.yaml", "mine")))
    monkeypatch.setenv("GRADQUIZ_HOME", str(write(tmp_path, "file", "") / "home"))
    cat = discover(bundled=False)
    [question] = cat.library.questions
    with pytest.raises(Exception, match="could not save trust"):
        cat.trust(question.pack)
    assert cat.trusted(question)
    assert not discover(bundled=False).trusted(question)


def test_summary_tells_what_trusting_means(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADQUIZ_PATH", str(pack(tmp_path, "p.yaml", "mine")))
    cat = discover(bundled=False)
    summary = cat.summary(cat.library.packs[0])
    assert summary.title == "Week one"
    assert summary.authors == ("A. Teacher", "B. Helper")
    assert (summary.questions, summary.snippets) == (1, 2)
    assert summary.state == "not trusted" and summary.origin == "GRADQUIZ_PATH"
    assert len(summary.sha256) == 64


def test_a_corrupt_trust_file_is_a_notice_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(locations.home(), "trust.json", "{nope")
    monkeypatch.setenv("GRADQUIZ_PATH", str(pack(tmp_path, "p.yaml", "mine")))
    cat = discover(bundled=False)
    assert not cat.trusted(cat.library.questions[0])
    [notice] = cat.notices()
    assert "trust.json:1:2" in notice


def test_fixed_trust_follows_its_function_and_what_is_given(tmp_path: Path) -> None:
    cat = Catalog(discover([pack(tmp_path, "p.yaml", "mine")], bundled=False).library)
    policy = FixedTrust(lambda question: False, cat.library)
    [question] = cat.library.questions
    assert not policy.trusted(question)
    policy.trust(question.pack)
    assert policy.trusted(question)
    assert policy.summary(question.pack).state == "trusted"
    assert TrustStore.load().packs == {}
