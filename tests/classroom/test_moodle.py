"""`gradquiz export --format moodle`: Moodle XML that parses, keys every question, grades only
with Moodle's own fractions, and carries the runs' tables as escaped HTML."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from gradquiz.classroom.moodle import FRACTIONS, exact_fraction, fraction_at_least
from gradquiz.cli import main
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

GOOD = str(PACKS / "good.yaml")
ALLOWED = {float(f) for f in FRACTIONS} | {-float(f) for f in FRACTIONS} | {0.0}


def export(path: str, out: Path, *flags: str) -> ElementTree.Element:
    assert main(["export", path, "--format", "moodle", "-o", str(out), *flags]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    return ElementTree.fromstring(text.encode())


def questions(root: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {q.findtext("idnumber", ""): q for q in root if q.get("type") != "category"}


def answers(question: ElementTree.Element) -> list[tuple[float, str, str]]:
    return [
        (float(a.get("fraction", "nan")), a.findtext("text", ""), a.findtext("feedback/text", ""))
        for a in question.findall("answer")
    ]


def test_every_question_has_its_right_answer(tmp_path: Path) -> None:
    root = export(GOOD, tmp_path / "good.xml")
    assert root[0].get("type") == "category"
    assert root[0].findtext("category/text") == "$course$/gradquiz/Test pack"
    found = questions(root)
    types = {k: q.get("type") for k, q in found.items()}
    assert types == {
        "accumulate": "multichoice",
        "step-rule": "numerical",
        "retain": "truefalse",
        "reduction": "multichoice",
        "loop-order": "ordering",
    }
    for question in found.values():
        assert question.findtext("name/text")
        assert question.find("questiontext").get("format") == "html"  # type: ignore[union-attr]

    single = found["accumulate"]
    assert single.findtext("single") == "true"
    assert single.findtext("answernumbering") == "ABCD"
    assert single.findtext("shuffleanswers") == "0"
    assert [(f, t) for f, t, _ in answers(single)] == [
        (0.0, "zero_grad every step"),
        (100.0, "no zero_grad"),
    ]

    multiple = found["reduction"]
    assert multiple.findtext("single") == "false"
    grades = [f for f, _, _ in answers(multiple)]
    assert grades == [50.0, -100.0, 50.0]
    assert sum(g for g in grades if g > 0) == 100
    assert all(g in ALLOWED for q in found.values() if q.get("type") == "multichoice"
               for g, _, _ in answers(q))  # fmt: skip

    assert [(f, t) for f, t, _ in answers(found["retain"])] == [(100.0, "true"), (0.0, "false")]

    numeric = found["step-rule"]
    [answer] = numeric.findall("answer")
    assert answer.get("fraction") == "100"
    # x[0] = 1 - 0.001 * 100 twice, in float32.
    assert float(answer.findtext("text", "")) == pytest.approx(0.7, abs=1e-6)
    assert answer.findtext("tolerance") == "0.001"

    order = found["loop-order"]
    assert [(f, t) for f, t, _ in answers(order)] == [
        (1.0, "<code>opt.zero_grad()</code>"),
        (2.0, "<code>loss = (w * 3).sum()</code>"),
        (3.0, "<code>loss.backward()</code>"),
        (4.0, "<code>opt.step()</code>"),
    ]
    assert order.findtext("selecttype") == "ALL"


def test_the_runs_tables_are_in_the_feedback(tmp_path: Path) -> None:
    found = questions(export(GOOD, tmp_path / "good.xml"))
    a, b = answers(found["accumulate"])
    assert a[2].startswith("<p>Clearing every step keeps each gradient fresh.</p>\n<table")
    assert "<caption><strong>A</strong> ✗</caption>" in a[2]
    # B without zero_grad: the gradient piles up, -0.587940 then -1.173027 (as in the handout).
    assert "<tr><td>1</td><td>[-0.587940]</td><td>[-0.241280]</td><td>0.886585</td></tr>" in b[2]
    assert "<tr><td>2</td><td>[-1.173027]</td>" in b[2]
    assert b[2].count("<tr><td>") == 10
    general = found["retain"].findtext("generalfeedback/text", "")
    assert "<th>step</th><th>x.grad</th>" in general
    assert '<td>2</td><td colspan="1">raised: RuntimeError: Trying to backward' in general
    hint = found["accumulate"].findtext("hint/text")
    assert hint == "<p>Look at w.grad after step 2.</p>\n"


def test_pack_text_cannot_inject_html_or_break_the_xml(tmp_path: Path) -> None:
    pack = write(
        tmp_path,
        "hostile.yaml",
        """\
pack: {title: "a/b <i>"}
questions:
  - id: hostile
    type: single
    title: "<script>alert(1)</script> ]]> end"
    prompt: "**Bold** <img src=x onerror=alert(1)> [link](javascript:alert(1)) \\e[2J"
    topic: hostile
    experiment:
      setup: "x = torch.tensor(1.0, requires_grad=True)"
      watch: {"<b>x</b>": "'<i>' + str(x.item())"}
    choices:
      - {id: A, text: "`<td>` cell", code: "pass\\n", feedback: "]]><evil/>"}
      - {id: B, text: other, code: "pass\\n"}
    answer: A
""",
    )
    question = questions(export(str(pack), tmp_path / "hostile.xml"))["hostile"]
    assert question.findtext("name/text") == "<script>alert(1)</script> ]]> end"
    prompt = question.findtext("questiontext/text", "")
    assert prompt.startswith("<p><strong>Bold</strong> &lt;img src=x onerror=alert(1)&gt;")
    assert 'href="javascript' not in prompt
    assert "\\x1b[2J" in prompt and "\x1b" not in prompt
    (_, text, feedback), _ = answers(question)
    assert text == "<code>&lt;td&gt;</code> cell"
    assert feedback.startswith("<p>]]&gt;&lt;evil/&gt;</p>")
    assert "<th>&lt;b&gt;x&lt;/b&gt;</th>" in feedback
    assert "<td>&lt;i&gt;1.0</td>" in feedback


def test_no_ordering_leaves_order_questions_out_with_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = questions(export(GOOD, tmp_path / "good.xml", "--no-ordering"))
    assert "loop-order" not in found and len(found) == 4
    err = capsys.readouterr().err
    assert "gradquiz: skipped loop-order: an order question needs qtype_ordering" in err


def test_order_questions_come_with_a_notice_about_the_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(GOOD, tmp_path / "good.xml")
    assert "Moodle's qtype_ordering must be there" in capsys.readouterr().err


def test_no_ordering_is_for_moodle_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", GOOD, "--no-ordering"]) == 2
    assert "--no-ordering is for --format moodle" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("share", "exact", "at_least"),
    [
        (100, "100", "100"),
        (50, "50", "50"),
        (100 / 3, "33.33333", "33.33333"),
        (100 / 7, "14.28571", "14.28571"),
        (100 / 9, "11.11111", "11.11111"),
        (100 / 11, None, "10"),
        (100 / 21, None, "5"),
    ],
)
def test_grades_are_moodles_own(share: float, exact: str | None, at_least: str) -> None:
    assert exact_fraction(share) == exact
    assert fraction_at_least(share) == at_least


def test_a_multiple_question_moodle_cannot_grade_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    choices = "\n".join(f"      - {{id: c{i}, text: choice {i}}}" for i in range(12))
    pack = write(
        tmp_path,
        "many.yaml",
        f"""\
questions:
  - id: many
    type: multiple
    title: Many
    prompt: All of them.
    topic: many
    choices:
{choices}
    answer: [{", ".join(f"c{i}" for i in range(11))}]
""",
    )
    assert questions(export(str(pack), tmp_path / "many.xml")) == {}
    assert "skipped many: 11 right choices: Moodle has no grade of 100/11%" in (
        capsys.readouterr().err
    )


def test_a_numeric_question_whose_run_gives_no_number_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = write(
        tmp_path,
        "nan.yaml",
        """\
questions:
  - id: nan
    type: numeric
    title: NaN
    prompt: 0 / 0?
    topic: nan
    experiment:
      setup: "x = torch.tensor(0.0)"
      code: "y = x / x"
    answer: {expr: "y"}
""",
    )
    assert questions(export(str(pack), tmp_path / "nan.xml")) == {}
    err = capsys.readouterr().err
    assert "skipped nan: the experiment gave no finite number to key the answer with" in err


def test_names_and_ids_fit_moodles_columns(tmp_path: Path) -> None:
    long_id = "q" * 101
    pack = write(
        tmp_path,
        "long.yaml",
        f"""\
questions:
  - {{id: short, type: truefalse, title: "{"é" * 300}", prompt: P, topic: t, answer: true}}
  - {{id: {long_id}, type: truefalse, title: T, prompt: P, topic: t, answer: false}}
""",
    )
    root = export(str(pack), tmp_path / "long.xml")
    short, long = (q for q in root if q.get("type") == "truefalse")
    assert short.findtext("name/text") == "é" * 255
    assert short.findtext("idnumber") == "short"
    assert long.findtext("idnumber") == ""
