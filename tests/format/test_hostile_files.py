"""Files a stranger can put in a pack directory: each is a located problem that costs only
itself; the good pack beside it still loads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gradquiz.format import Problem, load
from gradquiz.format.library import MAX_FILE_BYTES
from tests.conftest import write

NUMERIC = """\
id: {id}
type: numeric
title: t
prompt: p
topic: {topic}
experiment:
  code: "x = 1"
answer: {{expr: "{expr}", value: {value}}}
"""


def good(directory: Path) -> Path:
    return write(directory, "good.yaml", NUMERIC.format(id="good", topic="t", expr="x", value=1))


def loaded(*paths: Path) -> tuple[list[str], list[Problem]]:
    library = load(paths)
    return [q.id for q in library.questions], library.problems


def test_a_five_thousand_digit_integer(tmp_path: Path) -> None:
    good(tmp_path)
    write(tmp_path, "huge.yaml", NUMERIC.format(id="a", topic="t", expr="x", value="9" * 5000))
    ids, [problem] = loaded(tmp_path)
    assert ids == ["good"]
    assert str(problem) == (
        f"{tmp_path / 'huge.yaml'}:8:28: a number of 5,000 digits is too long to read; "
        "write it shorter"
    )


def test_a_three_thousand_term_expression(tmp_path: Path) -> None:
    good(tmp_path)
    expr = "+".join(["1"] * 3000)
    write(tmp_path, "deep.yaml", NUMERIC.format(id="b", topic="t", expr=expr, value=1))
    ids, [problem] = loaded(tmp_path)
    assert ids == ["good"]
    assert str(problem) == (
        f"{tmp_path / 'deep.yaml'}:8:17: Python source is nested too deeply to compile; split it up"
    )


def test_a_file_over_the_size_cap_is_not_read(tmp_path: Path) -> None:
    good(tmp_path)
    big = tmp_path / "big.yaml"
    # Sparse: a file that claims 1 GiB costs nothing to make, and reading it whole would hurt.
    with big.open("wb") as out:
        out.truncate(1 << 30)
    ids, [problem] = loaded(tmp_path)
    assert ids == ["good"]
    assert str(problem) == f"{big}:1:1: is {1 << 30:,} bytes; the limit is {MAX_FILE_BYTES:,}"


def test_a_fifo_in_a_directory_and_given_as_a_pack(tmp_path: Path) -> None:
    good(tmp_path)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # Opening the FIFO to read it would wait for a writer forever.
    ids, problems = loaded(tmp_path, fifo)
    assert ids == ["good"]
    assert [str(p) for p in problems] == [
        f"{fifo}:1:1: is a FIFO (named pipe), not a question file; skipped",
        f"{fifo}:1:1: is a FIFO (named pipe), not a question file",
    ]


def test_a_device_given_as_a_pack(tmp_path: Path) -> None:
    ids, problems = loaded(good(tmp_path), Path("/dev/null"))
    assert ids == ["good"]
    assert [str(p) for p in problems] == [
        "/dev/null:1:1: is a character device, not a question file"
    ]


def test_a_dangling_link_in_a_directory(tmp_path: Path) -> None:
    good(tmp_path)
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    ids, problems = loaded(tmp_path)
    assert ids == ["good"]
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'gone.yaml'}:1:1: is a link to {tmp_path / 'nowhere.yaml'}, "
        "which does not exist"
    ]


@pytest.mark.parametrize("pseudo", ["/proc", "/sys"])
def test_a_walk_into_a_pseudo_file_system(tmp_path: Path, pseudo: str) -> None:
    ids, problems = loaded(good(tmp_path), Path(pseudo))
    assert ids == ["good"]
    assert [str(p) for p in problems] == [
        f"{pseudo}:1:1: is a pseudo file system of the kernel; no packs are read from it"
    ]


def test_a_directory_that_cannot_be_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good(tmp_path)
    locked = tmp_path / "locked"
    write(locked, "inside.yaml", NUMERIC.format(id="inside", topic="t", expr="x", value=1))
    listing = os.scandir

    # As chmod 0 would for anyone but root (who runs these tests in CI containers).
    def refuse(path: str | os.PathLike[str]) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", refuse)
    ids, problems = loaded(tmp_path)
    assert ids == ["good"]
    assert [str(p) for p in problems] == [f"{locked}:1:1: cannot list: Permission denied"]


@pytest.mark.parametrize(
    ("question_id", "topic", "column"),
    [('"c\\n"', "t", "1:5"), ("c", '"t\\n"', "5:8")],
)
def test_ids_and_topics_with_a_trailing_newline(
    tmp_path: Path, question_id: str, topic: str, column: str
) -> None:
    good(tmp_path)
    write(tmp_path, "nl.yaml", NUMERIC.format(id=question_id, topic=topic, expr="x", value=1))
    ids, [problem] = loaded(tmp_path)
    assert ids == ["good"]
    got = "'c\\n'" if column == "1:5" else "'t\\n'"
    assert str(problem) == (
        f"{tmp_path / 'nl.yaml'}:{column}: expected a slug (lowercase letters, digits and -), "
        f"got the string {got}"
    )
