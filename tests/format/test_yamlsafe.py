from __future__ import annotations

from pathlib import Path

import pytest

from gradquiz.format import load, yamlsafe
from gradquiz.format.library import MAX_FILE_BYTES
from gradquiz.format.problems import ProblemError
from gradquiz.format.yamlsafe import Mapping, Scalar, parse, read_text


@pytest.fixture(autouse=True, params=["libyaml", "python"])
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule holds with libyaml's parser and with PyYAML's pure-Python fallback."""
    if request.param == "python":
        monkeypatch.setattr(yamlsafe, "_Composer", yamlsafe._PythonComposer)
    else:
        assert yamlsafe._Composer.__name__ == "_FastComposer"


def problem(text: str) -> str:
    with pytest.raises(ProblemError) as caught:
        parse("f.yaml", text)
    return str(caught.value.problem)


def test_values_keep_their_locations() -> None:
    root = parse("f.yaml", "a: 1\nb:\n  - x\n  - 2.5\n")
    assert isinstance(root, Mapping)
    a = root.get("a")
    assert isinstance(a, Scalar) and a.value == 1
    assert (a.location.line, a.location.column) == (1, 4)


def test_block_scalar_content_origin_is_its_first_line() -> None:
    root = parse("f.yaml", "code: |\n    x = 1\n    y = 2\n")
    assert isinstance(root, Mapping)
    code = root.get("code")
    assert isinstance(code, Scalar) and code.content_origin is not None
    assert (code.content_origin.line, code.content_origin.column) == (2, 5)


def test_duplicate_key_is_rejected_at_the_second() -> None:
    assert problem("id: a\ntitle: x\nid: b\n") == "f.yaml:3:1: duplicate key 'id' (first at line 1)"


def test_alias_is_rejected() -> None:
    assert "aliases (*name) are not allowed" in problem("a: &x 1\nb: *x\n")


def test_billion_laughs_fails_at_the_first_alias() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    message = problem("\n".join(lines) + "\n")
    assert message.startswith("f.yaml:2:")
    assert "aliases" in message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 1\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x}\n",
    ],
)
def test_tags_are_rejected(text: str) -> None:
    message = problem(text)
    assert message.startswith("f.yaml:1:4: YAML tags like")


def test_syntax_error_is_located() -> None:
    assert problem("a: [1, 2\nb: 3\n").startswith("f.yaml:2:")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert problem("[" * 20000 + "]" * 20000) == "f.yaml:1:1: YAML: nesting is too deep"


def test_non_string_keys_are_rejected() -> None:
    assert problem("1: one\n") == "f.yaml:1:1: keys must be plain strings"


def test_dates_stay_text() -> None:
    root = parse("f.yaml", "d: 2024-01-31\n")
    assert isinstance(root, Mapping)
    value = root.get("d")
    assert isinstance(value, Scalar) and value.value == "2024-01-31"


def test_yes_is_explained_where_it_is_not_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "q.yaml").write_text(
        "id: q\ntype: single\ntitle: t\nprompt: p\ntopic: t\n"
        "choices:\n  - {id: yes, text: a}\n  - {id: no, text: b}\nanswer: yes\n"
    )
    messages = [str(p) for p in load([tmp_path]).problems]
    assert messages == [
        f"{tmp_path / 'q.yaml'}:7:10: expected a short choice id (letters, digits, - or _), "
        "got the boolean true (YAML reads yes as true; quote it: 'yes')",
        f"{tmp_path / 'q.yaml'}:8:10: expected a short choice id (letters, digits, - or _), "
        "got the boolean false (YAML reads no as false; quote it: 'no')",
        f"{tmp_path / 'q.yaml'}:9:9: expected a short choice id (letters, digits, - or _), "
        "got the boolean true "
        "(YAML reads yes as true; quote it: 'yes')",
    ]


def test_empty_document_is_none() -> None:
    assert parse("f.yaml", "# nothing\n") is None


def test_not_utf8_points_at_the_byte() -> None:
    with pytest.raises(ProblemError) as caught:
        read_text("f.yaml", "a: 1\nb: caf\xe9\n".encode("latin-1"))
    assert str(caught.value.problem) == "f.yaml:2:7: file is not UTF-8 (byte 0xe9)"


def test_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(ProblemError) as caught:
        read_text("f.yaml", b"#" * (MAX_FILE_BYTES + 1))
    assert "question files are limited to" in str(caught.value.problem)


def test_bom_is_accepted() -> None:
    assert read_text("f.yaml", b"\xef\xbb\xbfa: 1\n") == "a: 1\n"
