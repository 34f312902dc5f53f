"""Draws: which values an attempt gets, in which order its choices come. Pure, no torch."""

from __future__ import annotations

import random

from gradquiz.format import load
from gradquiz.format.model import Draw
from gradquiz.format.params import (
    choice_order,
    draw_count,
    drawn,
    drawn_values,
    fill,
    for_run,
    new_draw,
    sampled,
    values,
)
from gradquiz.grading import Verdict, grade
from gradquiz.lab.protocol import requests_for
from tests.conftest import PACKS

TABLE, TWICE, SCALED, SINGLE = load([PACKS / "drills.yaml"]).questions


def test_draws_count_like_an_odometer_from_the_first_values() -> None:
    assert draw_count(SCALED) == 6 and draw_count(TWICE) == 1
    assert [values(SCALED, k) for k in range(draw_count(SCALED))] == [
        {"a": 2.0, "w0": 1},
        {"a": 2.0, "w0": 2},
        {"a": 3.0, "w0": 1},
        {"a": 3.0, "w0": 2},
        {"a": 5.0, "w0": 1},
        {"a": 5.0, "w0": 2},
    ]
    assert values(TWICE, 0) == {}


def test_a_drawn_question_fills_every_text_and_keeps_the_template() -> None:
    attempt = drawn(SCALED, Draw(5, 0))
    assert attempt.title.get() == "The gradient of 5.0·w²"
    assert attempt.prompt.get() == "`(5.0 * w ** 2).backward()` at w = 2. What is `w.grad`?"
    assert attempt.explanation is not None
    assert attempt.explanation.get() == "d/dw 5.0·w² = 2·5.0·w, at w = 2."
    assert attempt.original is SCALED and attempt.draw == Draw(5, 0)
    assert drawn_values(attempt) == {"a": 5.0, "w0": 2}
    # Drawing again from a drawn question starts from the question as written.
    assert drawn(attempt, Draw(0, 0)).title.get() == "The gradient of 2.0·w²"
    assert drawn_values(SCALED) == {"a": 2.0, "w0": 1}


def test_the_worker_receives_the_drawn_values() -> None:
    (request,) = requests_for(drawn(SCALED, Draw(3, 0)))
    assert request.params == (("a", 3.0), ("w0", 2))
    (plain,) = requests_for(SCALED)
    assert plain.params == (("a", 2.0), ("w0", 1))
    assert all(r.params == () for r in requests_for(TWICE))


def test_choices_are_shuffled_per_seed_ids_kept_and_graded_by_id() -> None:
    orders = {choice_order(SINGLE, seed) for seed in range(40)}
    assert len(orders) == 6  # every order of three choices turns up
    assert all(sorted(order) == ["A", "B", "C"] for order in orders)
    assert choice_order(SINGLE, 11) == choice_order(SINGLE, 11)
    seed = next(s for s in range(40) if choice_order(SINGLE, s)[0] != "A")
    attempt = drawn(SINGLE, Draw(1, seed))
    assert tuple(c.id for c in attempt.choices) == choice_order(SINGLE, seed)
    # What the learner reads as the first letter is another choice; the key is by id.
    assert grade(attempt, "A", {}).correct
    assert grade(attempt, attempt.choices[0].id, {}) == Verdict(False, "The answer is A.")
    b = attempt.choice("B")
    assert b is not None and b.feedback is not None
    assert b.feedback.get() == "zero_grad threw the gradient away before the step."
    assert attempt.prompt.get().endswith("`w` is 1 - 0.5 in:")


def test_shuffle_false_keeps_the_written_order() -> None:
    from dataclasses import replace

    kept = replace(SINGLE, shuffle=False)
    assert {choice_order(kept, seed) for seed in range(20)} == {("A", "B", "C")}


def test_run_and_check_keep_the_written_order() -> None:
    assert [c.id for c in for_run(SINGLE, 1).choices] == ["A", "B", "C"]
    assert for_run(SINGLE, 1).draw == Draw(1, 0)


def test_a_new_draw_is_any_draw_and_reproducible_from_its_rng() -> None:
    draws = [new_draw(SCALED, random.Random(n)) for n in range(60)]
    assert {d.number for d in draws} == set(range(6))
    assert new_draw(SCALED, random.Random(3)) == new_draw(SCALED, random.Random(3))


def test_check_samples_every_draw_up_to_eight_else_spreads_them() -> None:
    assert sampled(SCALED, None) == [0, 1, 2, 3, 4, 5]
    assert sampled(SCALED, 3) == [0, 2, 4]
    assert sampled(SCALED, 50) == [0, 1, 2, 3, 4, 5]
    assert sampled(TWICE, None) == [0]
    from dataclasses import replace

    from gradquiz.format.model import Param

    many = replace(SCALED, params=(Param("x", tuple(range(20))),))
    assert sampled(many, None) == [0, 2, 5, 8, 10, 12, 15, 18]


def test_fill_shows_values_as_written() -> None:
    assert fill("lr {{lr}}, n {{ n }}, on {{on}}", {"lr": 0.001, "n": 3, "on": True}) == (
        "lr 0.001, n 3, on true"
    )
    assert fill("{{other}} stays", {}) == "{{other}} stays"


def test_a_draw_is_saved_as_json_and_read_back() -> None:
    assert Draw(4, 123).to_json() == {"draw": 4, "seed": 123}
    assert Draw.from_json({"draw": 4, "seed": 123}) == Draw(4, 123)
