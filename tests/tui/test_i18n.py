"""The app in Chinese: its own words (keys, help, verdicts, notices, the lab's sentences) come
from the catalogue once `--lang zh` is chosen; and every string the app shows is marked.

Screens' bindings are declared when their module is imported, in English here (the test
process imports the app before any test chooses a language): what is shown must still be
Chinese, which only translating where the keys are drawn gives.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from gradquiz import i18n
from gradquiz.tui.app import GradquizApp
from gradquiz.tui.screens.help import HelpScreen
from gradquiz.tui.screens.question_list import QuestionListScreen
from gradquiz.tui.screens.stats import StatsScreen
from gradquiz.tui.widgets.footer import KeyBar
from gradquiz.tui.widgets.lab import VariantAbout
from tests.tui.conftest import MakeApp, settle

SIZE = (120, 40)
TUI = Path(__file__).resolve().parents[2] / "gradquiz" / "tui"


def text_of(app: GradquizApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def shown(renderable: object) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def toasts(app: GradquizApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def test_the_app_speaks_chinese(make_app: MakeApp) -> None:
    i18n.use("zh")
    app = make_app(language="zh")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = str(app.screen.query_one(KeyBar).render())
        for words in ("⏎ 提交", "1-9 选择", "h 提示", "n 下一题", "p 上一题", "? 按键"):
            assert words in keys
        assert keys.rstrip().endswith("^p 命令面板")
        where = text_of(app, "#where")
        assert where.startswith("界面测试基础 · accumulation · ") and "1/7 · 新题" in where, where
        # A notice: three hints asked of a question with two.
        await pilot.press("h", "h", "h")
        await pilot.pause()
        assert "这已经是最后一条提示（共 2 条）。" in toasts(app)
        # A verdict, and the lab's sentence about the wrong variant.
        await pilot.press("2", "enter")
        await settle(pilot)
        verdict = text_of(app, "#verdict")
        assert verdict.startswith("✗ 不太对。答案是 A。"), verdict
        about = " ".join(shown(card.render()) for card in app.screen.query(VariantAbout))
        assert "B 与 A 首次不同在第 2 步的 w.grad：" in about, about
        assert "A ✓ zero the gradient first · 基准" in about
        assert "B ✗ just call backward · 你的选择" in about
        # The help: its headings, the keys' words and where they work.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "所有按键" in str(app.screen.query(".heading").first(Static).render())
        keys_table = shown(app.screen.query_one("#keys", Static).content)
        for words in ("提交", "撤销上一次作答", "展开或折叠实验室中共用的 setup 代码", "任何地方"):
            assert words in keys_table
        assert text_of(app, "#scheduling").startswith("答错评为 Again")
        assert "返回" in str(app.screen.query_one(KeyBar).render())
        await pilot.press("escape", "l")
        await pilot.pause()
        assert isinstance(app.screen, QuestionListScreen)
        assert "重置进度…" in str(app.screen.query_one(KeyBar).render())
        await pilot.press("escape", "s")
        await pilot.pause()
        assert isinstance(app.screen, StatsScreen)
        assert "按主题" in str(app.screen.query(".heading").first(Static).render())


async def test_the_app_in_english_says_what_it_always_said(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        verdict = text_of(app, "#verdict")
        assert verdict.startswith("✗ Not quite. The answer is A."), verdict
        keys = str(app.screen.query_one(KeyBar).render())
        assert "⏎ Submit" in keys and keys.rstrip().endswith("^p palette")


# --- Every string the app shows is marked ----------------------------------------------------

# Calls whose string arguments a person reads: widgets' text, notices, key descriptions, dialog
# titles, table headers. Their literals must go through `_()` or `N_()`.
SHOWN_BY = {
    "notify",
    "Static",
    "Label",
    "Button",
    "Prose",
    "RichText",
    "Text",
    "Content",
    "Binding",
    "ConfirmDialog",
    "FullValueDialog",
    "SystemCommand",
    "Incomplete",
    "Tree",
    "Table",
    "status",
    "show_note",
    "show_code",
    "show_verdict",
    "update",
    "add_column",
    "add_columns",
    "append",
    "title",
    "xlabel",
}
# Keyword arguments that are shown, in any call; the others (id, classes, key, style…) are not.
SHOWN_KEYWORDS = {"title", "description", "tooltip", "placeholder", "help", "message"}


def words(node: ast.expr) -> bool:
    """A literal with letters in it, bare or in an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(words(part) for part in node.values)
    if isinstance(node, ast.IfExp):
        return words(node.body) or words(node.orelse)
    if isinstance(node, ast.BinOp):
        return words(node.left) or words(node.right)
    return False


def name_of(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def unmarked(source: str, file: str = "<test>") -> list[str]:
    """`file:line` of each string literal with words handed straight to a call that shows it."""
    found: list[tuple[int, str]] = []
    for call in ast.walk(ast.parse(source)):
        if not isinstance(call, ast.Call):
            continue
        # Shown keywords are shown whatever the call (an Input's placeholder, a hit's help).
        shown = [k.value for k in call.keywords if k.arg in SHOWN_KEYWORDS]
        if name_of(call) == "Binding":
            shown += call.args[2:3]  # key and action are for machines; the description is read
        elif name_of(call) in SHOWN_BY:
            shown += call.args
        for argument in shown:
            if words(argument):
                found.append(
                    (argument.lineno, f"{file}:{argument.lineno}: {ast.unparse(argument)}")
                )
    return [said for _line, said in sorted(found)]


def test_every_string_the_app_shows_is_marked() -> None:
    found = []
    for path in sorted(TUI.rglob("*.py")):
        found += unmarked(path.read_text(encoding="utf-8"), str(path.relative_to(TUI)))
    assert found == []


def test_an_unmarked_string_is_caught() -> None:
    source = """\
self.notify("Saved.")
self.notify(_("Saved."))
yield Static(f"Step {n}", id="step")
yield Static(id="empty")
Binding("n", "next", "Next", tooltip="the next one")
Binding("n", "next", N_("Next"), tooltip=N_("the next one"))
yield Input(placeholder="a number", id="n")
table.add_column("step", key="step")
text.append(" ≠")
"""
    assert unmarked(source) == [
        "<test>:1: 'Saved.'",
        "<test>:3: f'Step {n}'",
        "<test>:5: 'Next'",
        "<test>:5: 'the next one'",
        "<test>:7: 'a number'",
        "<test>:8: 'step'",
    ]
