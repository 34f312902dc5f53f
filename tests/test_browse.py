"""The question list's filters, without a screen: topic, type, state and words of text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gradquiz.browse import Facts, Filters, browse, following
from gradquiz.format import Question, load
from tests.tui.conftest import PACKS

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bank() -> list[Question]:
    return load([PACKS]).questions


FACTS = {
    # answered wrong, due an hour ago, a leech: not "due" (a drill leaves it out)
    "accumulate": Facts("wrong", NOW - timedelta(hours=1), leech=True),
    # answered right, due an hour ago
    "pick-many": Facts("right", NOW - timedelta(hours=1)),
    # answered wrong, due tomorrow
    "how-much": Facts("wrong", NOW + timedelta(days=1)),
    # skipped for today before ever being answered: a card, but still new
    "fails": Facts("new", NOW - timedelta(hours=1)),
}


def ids(bank: list[Question], filters: Filters, language: str | None = None) -> list[str]:
    shown = browse(bank, lambda q: FACTS.get(q, Facts()), filters, NOW, language)
    return [q.id for q in shown]


def test_no_filter_lets_every_question_through_in_bank_order(bank: list[Question]) -> None:
    assert ids(bank, Filters()) == [q.id for q in bank]
    assert not Filters().any and Filters(text="  ").any is False


def test_each_state(bank: list[Question]) -> None:
    answered = set(FACTS) - {"fails"}
    assert ids(bank, Filters(state="new")) == [q.id for q in bank if q.id not in answered]
    assert ids(bank, Filters(state="due")) == ["pick-many"]
    assert ids(bank, Filters(state="wrong")) == ["accumulate", "how-much"]
    assert ids(bank, Filters(state="leech")) == ["accumulate"]


def test_topic_type_and_text_together(bank: list[Question]) -> None:
    accumulation = [q.id for q in bank if q.topic == "accumulation"]
    assert accumulation[:2] == ["accumulate", "pick-many"]
    assert ids(bank, Filters(topic="accumulation")) == accumulation
    assert ids(bank, Filters(topic="accumulation", type="multiple")) == ["pick-many"]
    assert ids(bank, Filters(type="numeric")) == [q.id for q in bank if q.type == "numeric"]
    # Words in any order and case, each in the id, title, topic or prompt.
    assert ids(bank, Filters(text="GRADIENT where")) == ["accumulate"]
    assert ids(bank, Filters(text="zero_grad")) == ["accumulate"]
    assert ids(bank, Filters(text="梯度", topic="accumulation"), language="zh") == ["accumulate"]
    assert ids(bank, Filters(text="no such words")) == []
    assert ids(bank, Filters(state="wrong", text="gradient where")) == ["accumulate"]


def test_cycling_goes_through_each_option_then_back_to_any() -> None:
    options = ["a", "b"]
    assert following(None, options) == "a"
    assert following("a", options) == "b"
    assert following("b", options) is None
    assert following("gone", options) == "a"
    assert following(None, []) is None
    filters = Filters(text="w").cycled("state", ["new", "due"])
    assert filters == Filters(state="new", text="w") and filters.any
