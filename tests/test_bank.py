"""The bundled bank keeps the promises of its issue: breadth, proof, teaching, two languages.

The thresholds are the bank's targets (issue 15), not what any one branch holds: each test's
message lists the offending question ids, so a failure says what to fix.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gradquiz import locations
from gradquiz.cli.main import language, parse
from gradquiz.format import Question, Text, load
from gradquiz.format.model import QUESTION_TYPES, NumericAnswer, PackInfo

BANK = load([locations.bundled_questions()])
QUESTIONS = BANK.questions
NUMERIC = [q for q in QUESTIONS if isinstance(q.answer, NumericAnswer)]


def test_the_bank_loads_clean() -> None:
    assert BANK.problems == []


def test_at_least_150_questions_in_20_topics() -> None:
    count, topics = len(QUESTIONS), Counter(q.topic for q in QUESTIONS)
    assert count >= 150 and len(topics) >= 20, (
        f"{count} questions in {len(topics)} topics: {dict(sorted(topics.items()))}"
    )


def test_one_pack_per_topic() -> None:
    topics_by_file: dict[str, set[str]] = defaultdict(set)
    files_by_topic: dict[str, set[str]] = defaultdict(set)
    for q in QUESTIONS:
        topics_by_file[Path(q.pack.file).name].add(q.topic)
        files_by_topic[q.topic].add(Path(q.pack.file).name)
    mixed = {f: sorted(t) for f, t in topics_by_file.items() if len(t) > 1}
    split = {t: sorted(f) for t, f in files_by_topic.items() if len(f) > 1}
    assert (mixed, split) == ({}, {}), f"packs with several topics {mixed}; topics split {split}"


def test_every_type_at_least_eight_times() -> None:
    counts = Counter(q.type for q in QUESTIONS)
    short = {t: counts[t] for t in QUESTION_TYPES if counts[t] < 8}
    assert short == {}, f"types with fewer than 8 questions: {short}"


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.id)
def test_every_key_is_proven_and_every_answer_teaches(question: Question) -> None:
    if question.type in ("single", "multiple", "truefalse"):
        assert question.verify is not None, "needs verify"
    if question.type == "numeric":
        assert question.answer.value is not None  # type: ignore[union-attr]
    assert question.experiment is not None
    assert question.explanation is not None
    assert question.references, "names the documentation it rests on"
    wrong = [c for c in question.choices if c.id not in question.correct_choices()]
    assert [c.id for c in wrong if c.feedback is None] == []


def test_outcomes_that_are_errors_are_asked_about() -> None:
    text = " ".join(Path(f).read_text(encoding="utf-8") for f in BANK.files)
    assert "second time" in text  # backward twice without retain_graph
    assert "modified by an inplace operation" in text


# --- Two languages ------------------------------------------------------------------------


def texts_of(question: Question) -> Iterator[tuple[str, Text]]:
    """Every text a learner reads for this question, named for a failure message."""
    yield "title", question.title
    yield "prompt", question.prompt
    for index, hint in enumerate(question.hints, 1):
        yield f"hint {index}", hint
    for choice in question.choices:
        yield f"choice {choice.id}", choice.text
        if choice.feedback is not None:
            yield f"choice {choice.id} feedback", choice.feedback
    if question.explanation is not None:
        yield "explanation", question.explanation


def pack_texts(pack: PackInfo) -> Iterator[tuple[str, Text | None]]:
    yield "title", pack.title
    yield "description", pack.description


def test_every_question_in_english_then_chinese() -> None:
    missing = [
        f"{q.id}: {name}"
        for q in QUESTIONS
        for name, text in texts_of(q)
        if text.languages[:1] != ["en"] or "zh" not in text.languages
    ]
    assert missing == [], f"texts not in en (first) and zh: {missing}"


def test_every_pack_title_and_description_in_english_then_chinese() -> None:
    missing = [
        f"{Path(p.file).name}: {name}"
        for p in BANK.packs
        for name, text in pack_texts(p)
        if text is None or text.languages[:1] != ["en"] or "zh" not in text.languages
    ]
    assert missing == [], f"pack texts not in en (first) and zh: {missing}"


# Ideographs and the CJK and full-width punctuation they sit between.
CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
# A space, or a line break inside a paragraph (Markdown renders it as a space), between two
# CJK characters: what YAML folding (`>`) or a hard-wrapped `|` block leaves in Chinese.
STRAY_SPACE = re.compile(f"[{CJK}](?: |\t|\n(?!\n))+[{CJK}]")
FENCED_CODE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def stray_spaces(text: str) -> list[str]:
    return [m.group() for m in STRAY_SPACE.finditer(FENCED_CODE.sub("", text))]


def test_the_stray_space_finder() -> None:
    assert stray_spaces("模型一开始 没有梯度") == ["始 没"]
    assert stray_spaces("权重初值为 -0.25，\n在唯一的样本上") == ["，\n在"]
    assert stray_spaces("第一段。\n\n第二段，用 `zero_grad` 清空") == []
    assert stray_spaces("```python\nx = 1  # 一 二\n```\n正文") == []


def test_no_stray_space_between_chinese_characters() -> None:
    found = [
        f"{q.id}: {name}: {spaces}"
        for q in QUESTIONS
        for name, text in texts_of(q)
        if "zh" in text.by_language and (spaces := stray_spaces(text.by_language["zh"]))
    ]
    found += [
        f"{Path(p.file).name}: {name}: {spaces}"
        for p in BANK.packs
        for name, text in pack_texts(p)
        if text is not None
        and "zh" in text.by_language
        and (spaces := stray_spaces(text.by_language["zh"]))
    ]
    assert found == [], f"spaces between CJK characters: {found}"


def test_no_two_questions_share_a_title() -> None:
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for q in QUESTIONS:
        for lang, title in q.title.by_language.items():
            owners[(lang, " ".join(title.casefold().split()))].append(q.id)
    shared = {f"{lang}: {title}": ids for (lang, title), ids in owners.items() if len(ids) > 1}
    assert shared == {}, f"titles used more than once: {shared}"


# --- Numbers: giveaways and tolerances ----------------------------------------------------

# A number as a person writes it: optional sign (ASCII, or U+2212 so that the minus sign
# of `a - b` is read as b's sign), digits, an optional fraction and exponent; not part of a name
# such as `float16`, `conv1d` or ResNet-18, nor of a version such as 2.13.0. Chinese characters
# may touch it.
NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?<![A-Za-z0-9_.][-−])"
    r"[-−]?\d+(?:\.\d+)?(?:[eE][-+−]?\d+)?(?![A-Za-z0-9_]|\.\d)"
)


def numbers_in(text: str) -> list[tuple[float, float]]:
    """Each number written in `text`, with half a unit of its last written digit."""
    found = []
    for match in NUMBER.finditer(text):
        written = match.group().replace("−", "-")
        mantissa, _, exponent = written.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        found.append((float(written), 0.5 * 10 ** (int(exponent or 0) - decimals)))
    return found


def test_the_number_reader() -> None:
    text = "w = −0.25 at step 3, lr 1e-3, `float16`, conv1d, ResNet-18, torch 2.13.0, 第2步"
    assert numbers_in(text) == [
        (-0.25, 0.005),
        (3.0, 0.5),
        (0.001, 0.0005),
        (2.0, 0.5),
    ]


def test_what_a_coincidence_may_show() -> None:
    assert [significant_digits(v) for v in (1.5, 24.0, 5120.0, -1.752409, 0.0333)] == [
        2,
        2,
        3,
        7,
        3,
    ]
    assert not telling(8.0, same_topic=True) and not telling(0.01, same_topic=True)
    assert telling(0.6, same_topic=True) and not telling(0.6, same_topic=False)
    assert telling(0.999, same_topic=False)


def value_of(question: Question) -> float:
    assert isinstance(question.answer, NumericAnswer) and question.answer.value is not None
    return question.answer.value


def is_the_answer(number: float, half_unit: float, value: float) -> bool:
    """`number` is the answer itself: the answer rounded to the digits written, or the same
    float seen through float32 rounding (0.59999988 for 0.6)."""
    return abs(number - value) <= max(half_unit, 1e-6 * max(1.0, abs(value))) + 1e-12


def shown_before_answering_or_as_feedback(question: Question) -> Iterator[tuple[str, str]]:
    """The texts the issue names (prompt and feedback), with the hints and choices a learner
    also reads before answering, in every language."""
    texts = [
        ("prompt", question.prompt),
        *((f"hint {i}", h) for i, h in enumerate(question.hints, 1)),
    ]
    for choice in question.choices:
        texts.append((f"choice {choice.id}", choice.text))
        if choice.feedback is not None:
            texts.append((f"choice {choice.id} feedback", choice.feedback))
    for name, text in texts:
        for lang, body in text.by_language.items():
            yield f"{name} ({lang})", body


def significant_digits(value: float) -> int:
    digits = f"{abs(value):.12e}".partition("e")[0].replace(".", "").rstrip("0")
    return max(len(digits), 1)


def telling(value: float, same_topic: bool) -> bool:
    """Whether a text that shows `value` gives away the question whose answer it is.

    Whole numbers up to 10 and powers of ten (counts, steps, indices, learning rates such as
    0.01) are written everywhere as data: never. Another question of the same topic sits
    beside it in its pack and in a topic drill, and often runs the same experiment: always.
    A question of another topic: when the answer has three significant digits or more, where
    a coincidence is unlikely and a learner would take the number as the answer (1.5 or 24
    in an unrelated prompt is data; -1.75241 or 0.0333 is a result)."""
    if (value == int(value) and abs(value) <= 10) or math.log10(abs(value)).is_integer():
        return False
    return same_topic or significant_digits(value) >= 3


def giveaways(questions: list[Question]) -> list[str]:
    """Other questions' texts showing a number the target question accepts as its answer,
    where that number is `telling`, unless the target's own prompt or hints show it too (then
    nothing is given away)."""
    found = []
    for target in (q for q in questions if isinstance(q.answer, NumericAnswer)):
        value, tolerance = value_of(target), target.answer.tolerance  # type: ignore[union-attr]
        shown_by_itself = any(
            abs(n - value) <= tolerance
            for _, body in shown_before_answering_or_as_feedback(target)
            for n, _ in numbers_in(body)
        )
        if shown_by_itself:
            continue
        for other in questions:
            if other.id == target.id or not telling(value, other.topic == target.topic):
                continue
            for name, body in shown_before_answering_or_as_feedback(other):
                hits = [n for n, _ in numbers_in(body) if abs(n - value) <= tolerance]
                if hits:
                    found.append(f"{other.id} {name} shows {hits[0]:g}, the answer of {target.id}")
    return found


def test_the_giveaway_finder() -> None:
    q = next(q for q in NUMERIC if telling(value_of(q), same_topic=True))
    other = next(o for o in QUESTIONS if o.type == "truefalse" and o.topic == q.topic)
    quiet = replace(other, prompt=Text({"en": "Is it?", "zh": "是吗？"}), hints=(), choices=())
    leaking = Text({"en": f"As you saw, it comes to {value_of(q):.6g}.", "zh": "同上"})
    assert giveaways([q, replace(quiet, prompt=leaking)]) == [
        f"{other.id} prompt (en) shows {value_of(q):g}, the answer of {q.id}"
    ]
    assert giveaways([q, quiet]) == []


def test_no_question_gives_away_another_numeric_answer() -> None:
    found = giveaways(QUESTIONS)
    assert found == [], f"numeric answers printed in other questions: {found}"


def plausible_wrong_answers(question: Question) -> Iterator[tuple[float, str]]:
    """What a learner who made a common mistake would type, from the question's own data:
    0, the answer with its sign flipped, and every other number the question writes in its
    prompt (the data given), its hints and its explanation (the intermediate results and
    the mistakes it discusses), in every language. The numbers its run computes (other steps,
    other columns) are `gradquiz check --strict`'s to compare, since that needs the runs."""
    value = value_of(question)
    yield 0.0, "zero"
    yield -value, "the sign flipped"
    texts = [("prompt", question.prompt), *(("hint", h) for h in question.hints)]
    if question.explanation is not None:
        texts.append(("explanation", question.explanation))
    for name, text in texts:
        for lang, body in text.by_language.items():
            for number, half_unit in numbers_in(body):
                if not is_the_answer(number, half_unit, value):
                    yield number, f"{number:g} in the {name} ({lang})"


def loose_tolerances(questions: list[Question]) -> list[str]:
    found = []
    for q in questions:
        if not isinstance(q.answer, NumericAnswer):
            continue
        value, tolerance = value_of(q), q.answer.tolerance
        accepted = [
            (abs(n - value), where)
            for n, where in plausible_wrong_answers(q)
            if not is_the_answer(n, 0.0, value) and abs(n - value) <= tolerance
        ]
        if accepted:
            gap, where = min(accepted)
            found.append(f"{q.id}: tolerance {tolerance:g} accepts {where} ({gap:.3g} away)")
    return found


def test_the_tolerance_finder() -> None:
    q = next(q for q in NUMERIC if abs(value_of(q)) > 2 and q.answer.tolerance < 0.5)  # type: ignore[union-attr]
    value = value_of(q)
    assert isinstance(q.answer, NumericAnswer)
    bare = replace(q, prompt=Text({"en": "How much?", "zh": "多少？"}), hints=())
    slip = Text({"en": f"It is {value:g}; a common slip gives {value + 0.5:g}.", "zh": "同上"})
    loose = replace(bare, explanation=slip, answer=NumericAnswer(q.answer.expr, 1.0, value))
    assert loose_tolerances([loose]) == [
        f"{q.id}: tolerance 1 accepts {value + 0.5:g} in the explanation (en) (0.5 away)"
    ]
    assert loose_tolerances([replace(loose, answer=q.answer)]) == []


def test_every_tolerance_excludes_the_plausible_wrong_answers() -> None:
    found = loose_tolerances(QUESTIONS)
    assert found == [], f"tolerances that accept a plausible wrong answer: {found}"


# --- Everything else ----------------------------------------------------------------------


def test_at_least_three_experiments_use_torchvision() -> None:
    uses = [
        q.id
        for q in QUESTIONS
        if q.experiment is not None
        and any("torchvision" in (c.source if c else "") for c in (q.experiment.setup,))
    ]
    assert len(uses) >= 3


@pytest.mark.parametrize(
    ("environment", "flag", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, None, "zh-CN"),
        ({"LANG": "C.UTF-8"}, None, None),
        ({"LANG": "en_US.UTF-8"}, "zh", "zh"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, None, "zh-TW"),
    ],
)
def test_language_from_flag_or_locale(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    flag: str | None,
    expected: str | None,
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    args = parse(["list"] + (["--lang", flag] if flag else []))
    assert language(args) == expected


def test_chinese_for_a_chinese_locale_english_for_any_other() -> None:
    bilingual = next(q for q in QUESTIONS if "zh" in q.languages)
    assert bilingual.title.get("zh-CN") == bilingual.title.by_language["zh"]
    assert bilingual.title.get("fr") == bilingual.title.by_language["en"]


def test_at_least_ten_questions_draw_their_numbers_and_show_them() -> None:
    drawing = [q for q in QUESTIONS if q.params]
    assert len(drawing) >= 10, [q.id for q in drawing]
    # A drawn value the learner never reads would make every draw look the same.
    unseen = [
        q.id
        for q in drawing
        for p in q.params
        if not any("{{" + p.name + "}}" in body for body in q.prompt.by_language.values())
    ]
    assert unseen == [], f"parameters the prompt does not show: {unseen}"
