"""The interface's own words in Chinese under `--lang zh` or a Chinese locale, through the
gettext catalogue; English, byte for byte as before, everywhere else.

The catalogue is held to its sources: every string marked in gradquiz/ has a zh translation
with the same placeholders, and the shipped .mo says what the .po says.
"""

from __future__ import annotations

import ast
import string
import struct
import sys
from gettext import GNUTranslations
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from gradquiz import difference, display, grading, i18n
from gradquiz.cli import main
from gradquiz.format import load
from gradquiz.lab.protocol import Row, RunError, VariantResult
from tests.conftest import PACKS, write

pytestmark = pytest.mark.usefixtures("warm_cli")

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(PACKS / "good.yaml")
MESSAGES = ROOT / "gradquiz" / "locale" / "zh" / "LC_MESSAGES"
ONLY_GOOD = ["--no-bundled", "--questions", GOOD]


# --- The catalogue against its sources -------------------------------------------------------


Marked = str | tuple[str, ...]


def forms(value: object) -> tuple[str, ...]:
    """A catalogue entry's id or translation as its forms: one, or one per plural form."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def marked(package: Path) -> set[Marked]:
    """Every string marked for translation, as `make messages` extracts them."""
    keywords = {**DEFAULT_KEYWORDS, "plural": (2, 3)}
    found = extract_from_dir(package, method_map=[("**.py", "python")], keywords=keywords)
    return {message for _file, _line, message, _comments, _context in found}


def po(path: Path) -> Catalog:
    with path.open("rb") as stream:
        return read_po(stream)


def untranslated(catalog: Catalog, wanted: set[Marked]) -> list[Marked]:
    """The marked strings a catalogue leaves in English: absent, empty or fuzzy."""
    missing: list[Marked] = []
    for msgid in sorted(wanted, key=str):
        entry = catalog.get(forms(msgid)[0])
        strings = forms(entry.string) if entry is not None else ()
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(msgid)
    return missing


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def stale(catalog: Catalog, mo: Path) -> list[str]:
    """Where the compiled catalogue does not say what the .po says."""
    with mo.open("rb") as stream:
        compiled = GNUTranslations(stream)
    data = mo.read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    (count,) = struct.unpack(order + "I", data[8:12])
    found = []
    translated = [m for m in catalog if m.id and not m.fuzzy and m.string]
    if count != len(translated) + 1:  # and the header
        found.append(f"the .mo holds {count - 1} messages, the .po {len(translated)}")
    for message in translated:
        ids, strings = forms(message.id), forms(message.string)
        if len(ids) == 2:
            shown = [compiled.ngettext(ids[0], ids[1], n) for n in (1, 2)]
            if shown != [strings[0]] * 2:
                found.append(repr(message.id))
        elif compiled.gettext(ids[0]) != strings[0]:
            found.append(repr(message.id))
    return found


def test_every_marked_string_has_a_chinese_translation() -> None:
    wanted = marked(ROOT / "gradquiz")
    assert len(wanted) > 150
    assert untranslated(po(MESSAGES / "gradquiz.po"), wanted) == []


def test_a_newly_marked_string_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "gradquiz"
    write(
        package, "new.py", 'from gradquiz.i18n import _\nNOTE = _("a string nobody translated")\n'
    )
    write(package, "more.py", 'plural(2, "{n} owl", "{n} owls")\n')
    catalog = po(MESSAGES / "gradquiz.po")
    assert untranslated(catalog, marked(package)) == [
        ("{n} owl", "{n} owls"),
        "a string nobody translated",
    ]


def test_translations_keep_the_placeholders() -> None:
    for message in po(MESSAGES / "gradquiz.po"):
        if not message.id:
            continue
        ids, strings = forms(message.id), forms(message.string)
        # A Chinese plural form may leave {n} out only where English has no number either.
        assert {f for s in strings for f in fields(s)} == fields(ids[-1]), message.id


def test_the_compiled_catalogue_is_up_to_date() -> None:
    assert stale(po(MESSAGES / "gradquiz.po"), MESSAGES / "gradquiz.mo") == []


def test_a_stale_compiled_catalogue_is_caught(tmp_path: Path) -> None:
    source = (MESSAGES / "gradquiz.po").read_text(encoding="utf-8")
    edited = source.replace('msgstr "没有问题"', 'msgstr "一切正常"')
    edited += '\nmsgid "a message added since"\nmsgstr "后来加的"\n'
    assert edited.count("一切正常") == 1
    changed = write(tmp_path, "gradquiz.po", edited)
    assert stale(po(changed), MESSAGES / "gradquiz.mo") == [
        f"the .mo holds {len(po(changed)) - 1} messages, the .po {len(po(changed))}",
        "'no problems'",
        "'a message added since'",
    ]


# --- Choosing the language -------------------------------------------------------------------


def test_the_language_comes_from_the_flag_then_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert i18n.requested(None) is None
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.requested(None) == "zh-CN"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")  # LC_ALL outranks LANG, as for every program
    assert i18n.requested(None) == "en-GB"
    assert i18n.requested("zh") == "zh"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert i18n.requested(None) == "zh-CN"


def test_catalogues_are_found_from_specific_to_general() -> None:
    assert i18n.use("zh-CN") == "zh"
    assert i18n.use("zh_Hans_CN") == "zh"
    assert i18n.active() == "zh"
    assert i18n.use("fr-FR") == "en"
    assert i18n.use("en") == "en"
    assert i18n.use("") == "en"
    assert i18n.use(None) == "en"
    assert i18n.active() == "en"


def test_a_chinese_locale_picks_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["run", "acumulate", *ONLY_GOOD]) == 2
    assert (
        capsys.readouterr().err
        == "gradquiz: 没有 id 为 'acumulate' 的题；你是不是指 accumulate？\n"
    )
    # --lang outranks the locale.
    assert main(["--lang", "en", "run", "acumulate", *ONLY_GOOD]) == 2
    assert capsys.readouterr().err == (
        "gradquiz: no question with id 'acumulate'; did you mean accumulate?\n"
    )


def test_an_unknown_language_falls_back_to_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", *ONLY_GOOD]) == 0
    english = capsys.readouterr().out
    assert english.startswith("Answered 0, correct 0 (-); seen 0 of 5 questions.\n")
    assert main(["--lang", "fr", "stats", *ONLY_GOOD]) == 0
    assert capsys.readouterr().out == english
    assert main(["--lang", "xx-Nope", "run", "nope", *ONLY_GOOD]) == 2
    assert capsys.readouterr().err == "gradquiz: no question with id 'nope'\n"


def test_help_is_in_the_language_of_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--help", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "--json            输出一个 JSON 数组" in out
    assert "--no-bundled      不加载 gradquiz 自带的题包" in out


# --- Plurals ---------------------------------------------------------------------------------


def test_plural_forms_follow_the_language() -> None:
    counts = [display.plural(n, "{n} file", "{n} files") for n in (0, 1, 2)]
    assert counts == ["0 files", "1 file", "2 files"]
    late = display.plural(1, "{n} day ({first})", "{n} days ({first})", first="Mon")
    assert late == "1 day (Mon)"
    i18n.use("zh")
    # Chinese has one form, the measure word before the noun.
    assert [display.plural(n, "{n} file", "{n} files") for n in (0, 1, 2)] == [
        "0 个文件",
        "1 个文件",
        "2 个文件",
    ]
    assert i18n.ngettext("{n} question", "{n} questions", 1) == "{n} 道题"
    # A string the catalogue does not know stays English, with the English rule.
    assert display.plural(2, "{n} owl", "{n} owls") == "2 owls"


# --- The commands in Chinese -----------------------------------------------------------------


def test_list_table_in_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--lang", "zh", "list", *ONLY_GOOD]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Headers two cells wide per character, the columns still aligned under them.
    assert lines[0] == "id          类型       主题            标题"
    assert lines[1] == "accumulate  single     training-loop   梯度会累加吗？"


def test_check_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "check", GOOD]) == 0
    done = capsys.readouterr()
    assert done.err.startswith("1 个文件中的 5 道题，运行实验 8 次，用时 ")
    assert done.err.endswith(" 秒：没有问题\n")
    bad = (PACKS / "good.yaml").read_text().replace("answer: [A, C]", "answer: [A, B]")
    bad = bad.replace("value: 0.7}", "value: 0.75}")
    write(tmp_path, "bad.yaml", bad)
    assert main(["check", str(tmp_path), "--lang", "zh"]) == 1
    done = capsys.readouterr()
    assert done.out.splitlines() == [
        f"{tmp_path / 'bad.yaml'}:59:5: 答案的 value 是 0.75，但 PyTorch 算出的是 0.7",
        f"{tmp_path / 'bad.yaml'}:88:5: 答案写的是 A, B，但实验证明的是 A, C",
    ]
    assert done.err.endswith(" 秒：2 个问题\n")


def test_run_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "run", "step-rule", *ONLY_GOOD]) == 0
    out = capsys.readouterr().out
    assert "答案：0.700000" in out
    assert "步" in out.splitlines()[3]  # the table's header row
    assert main(["--lang", "zh", "run", "accumulate", "--format", "markdown", *ONLY_GOOD]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("### 梯度会累加吗？ (`accumulate`)\n")
    assert "**B** ✓ no zero_grad" in markdown
    assert "所有变体共用的 setup：" in markdown
    assert "| 步 | w.grad | w | loss |" in markdown


def test_stats_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "stats", *ONLY_GOOD]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "作答 0 次，答对 0 次（-）；5 道题中已做过 0 道。"
    assert lines[1] == "现在到期：0；今天新题：5。"
    assert lines[2].startswith("未来 7 天到期（")
    assert lines[3].strip() == "按主题"
    assert lines[4].split() == ["主题", "题数", "作答", "答对", "正确率"]


def test_packs_and_trust_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "packs", *ONLY_GOOD]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["路径", "来源", "题数", "信任"]
    assert out[1].split()[1:] == ["命令行", "5", "始终信任"]
    pack = write(tmp_path, "mine.yaml", (PACKS / "good.yaml").read_text())
    assert main(["trust", str(pack)]) == 0
    english = capsys.readouterr().out.splitlines()
    assert english[1] == "  “Test pack”, by gradquiz tests: 5 questions, 25 code snippets"
    assert main(["--lang", "zh", "trust", str(pack)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == english[0].replace("trusted ", "已信任 ", 1).replace(" (", "（").replace(
        ")", "）"
    )
    assert lines[1] == "  “Test pack”，作者 gradquiz tests：5 道题，25 段代码"


def test_verdicts_in_chinese() -> None:
    question = next(q for q in load([Path(GOOD)]).questions if q.id == "accumulate")
    assert grading.grade(question, "B", {}).detail == "The answer is B."
    i18n.use("zh")
    verdict = grading.grade(question, "A", {})
    assert (verdict.correct, verdict.detail) == (False, "答案是 B。")


def test_a_file_s_problems_in_chinese_and_then_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Problems are written as the file is parsed, and parsed files are cached: the cache
    must not hand the Chinese problems to an English run, nor the other way round."""
    bad = write(
        tmp_path,
        "bad.yaml",
        "id: x\ntype: single\ntitle: t\nprompt: p\ntopic: t\nfoo: 1\n"
        "choices: [{id: A, text: a}]\nanswer: yes\n",
    )
    runs = [(["check", str(bad)]), (["--lang", "zh", "check", str(bad)]), (["check", str(bad)])]
    outputs = []
    for argv in runs:
        assert main(argv) == 1
        outputs.append(capsys.readouterr().out.splitlines())
    english, chinese, english_again = outputs
    assert english_again == english
    assert english[1] == (
        f"{bad}:8:9: expected a short choice id (letters, digits, - or _), got the boolean true "
        "(YAML reads yes as true; quote it: 'yes')"
    )
    assert chinese[0].startswith(f"{bad}:6:1: 题目中有未知的键 'foo'（可用：id, type, title,")
    assert chinese[1] == (
        f"{bad}:8:9: 应为简短的选项 id（字母、数字、- 或 _），实际是布尔值 true"
        "（YAML 把 yes 读作 true；请加引号：'yes'）"
    )


def test_run_shows_the_choices_in_the_chosen_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = write(
        tmp_path,
        "pack.yaml",
        """\
questions:
  - id: doubled
    type: single
    topic: t
    title: {en: Doubled, zh: 翻倍}
    prompt: p
    experiment:
      setup: x = torch.tensor(1.0, requires_grad=True)
      watch: {x.grad: x.grad}
    choices:
      - id: A
        text: {en: once, zh: 一次}
        code: (2 * x).backward()
      - id: B
        text: {en: twice, zh: 两次}
        code: (4 * x).backward()
    answer: B
""",
    )
    flags = ["--no-bundled", "--questions", str(pack), "--lang", "zh"]
    assert main(["run", "doubled", "--format", "markdown", *flags]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("### 翻倍 (`doubled`)\n\n所有变体共用的 setup：\n")
    step_code = "本选项自己的每步代码（运行 1 次）：\n\n```python\n"
    assert (
        "**A** ✗ 一次\n\n" + step_code + "(2 * x).backward()\n```\n\n"
        "| 步 | x.grad |\n|---:|---:|\n| 1 | 2.000000 |\n"
    ) in markdown
    assert (
        "**B** ✓ 两次\n\n" + step_code + "(4 * x).backward()\n```\n\n"
        "| 步 | x.grad |\n|---:|---:|\n| 1 | 4.000000 |\n"
    ) in markdown
    assert main(["run", "doubled", *flags]) == 0
    out = capsys.readouterr().out
    assert "两次" in out and "一次" in out and "twice" not in out


# --- The lab's sentences in Chinese ----------------------------------------------------------


def trace(variant: str, values: list[Any], error: RunError | None = None) -> VariantResult:
    rows = [Row(step, {"w.grad": value}) for step, value in enumerate(values, start=1)]
    return VariantResult("q", variant, ["w.grad"], rows, error)


def test_difference_sentences_in_chinese() -> None:
    cleared = trace("A", [[-0.5], [-0.5], [-0.5], [-0.5]])
    piled = trace("B", [[-0.5], [-1.0], [-1.5], [-2.0]])
    english = difference.compare(piled, cleared, 1e-6).sentence
    assert english == (
        "B differs from A first at step 2, in w.grad: [-1.000000] against [-0.500000]; "
        "the gap grows with the step (gradients piling up)."
    )
    error = RunError("RuntimeError", "Trying to backward through the graph a second time", 2)
    broken = trace("C", [[4.0]], error)
    mine = VariantResult("q", "yours", ["w.grad", "extra"], [Row(1, {"w.grad": 1.0, "extra": 5})])
    theirs = VariantResult("q", "B", ["w.grad"], [Row(1, {"w.grad": 1.0})])
    i18n.use("zh")
    assert difference.compare(piled, cleared, 1e-6).sentence == (
        "B 与 A 首次不同在第 2 步的 w.grad：[-1.000000] 对 [-0.500000]；"
        "差距随步数增大（梯度在累加）。"
    )
    assert difference.compare(broken, trace("A", [[4.0], [4.0]]), 1e-6).sentence == (
        "C 抛出 RuntimeError（第 2 步），A 没有；之前的那个单元格一致。"
    )
    assert difference.compare(cleared, cleared, 1e-6).sentence == (
        "A 与 A 表现相同：4 个单元格中最大 |Δ| = 0。"
    )
    assert difference.compare(mine, theirs, 1e-6).sentence == (
        "你的 与 B 一致：1 个单元格中最大 |Δ| = 0；只有 你的 观察 extra。"
    )
    # A single run's heading names it in the learner's words; its id stays `main` in the data.
    assert difference.variant_name("main") == "本次运行"
    assert difference.gloss(error) == (
        "第一次 backward() 已释放计算图保存的值；要对同一个图再做一次 backward，"
        "第一次需要 retain_graph=True，或者重新做一次前向计算。"
    )
    # Back in English, the same traces say what they said before.
    i18n.use("en")
    assert difference.compare(piled, cleared, 1e-6).sentence == english


def test_no_marked_string_hides_in_an_f_string() -> None:
    """Extraction does not read inside an f-string: a `_()` or `plural()` there would never
    reach the catalogue, and would stay English."""
    hidden = []
    for path in sorted((ROOT / "gradquiz").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            for call in (n for n in ast.walk(fstring) if isinstance(n, ast.Call)):
                func = call.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                marks = any(isinstance(a, ast.Constant | ast.JoinedStr) for a in call.args)
                if name in ("_", "N_", "ngettext", "plural") and marks:
                    hidden.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert hidden == []
