"""The quiz model, driven without a screen, a lab or torch: runs are made up here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradquiz import i18n
from gradquiz.format import Library, Question, load
from gradquiz.lab.cache import Kept
from gradquiz.lab.protocol import Outcome, Row, VariantResult
from gradquiz.progress.drill import Review
from gradquiz.progress.store import Answer
from gradquiz.quiz import Answered, DrillOver, Quiz, Stage, needs_runs

PACKS = Path(__file__).parent / "tui" / "packs"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TORCH = "2.13.0"


@pytest.fixture(scope="module")
def library() -> Library:
    return load([PACKS])


def by_id(library: Library, question_id: str) -> Question:
    question = library.get(question_id)
    assert question is not None
    return question


def run(question: str, variant: str, answer: float | None = None) -> VariantResult:
    return VariantResult(
        question,
        variant,
        ["x"],
        [Row(1, {"x": 1.0})],
        answer=None if answer is None else Outcome(answer),
    )


def stage_of(answered: Answered) -> Stage:
    # Read afresh: a type checker would keep the stage narrowed from an earlier assert.
    return answered.stage


def quiz_of(library: Library, trusted: bool = True, **kwargs: object) -> Quiz:
    def can_run(question: Question) -> bool:
        return trusted and question.experiment is not None

    return Quiz(library.questions, can_run, **kwargs)  # type: ignore[arg-type]


def test_which_types_wait_for_runs_to_be_graded(library: Library) -> None:
    waits = {q.type: needs_runs(q) for q in library.questions}
    assert waits == {
        "single": False,
        "multiple": False,
        "truefalse": False,
        "numeric": True,
        "order": True,
    }


def test_a_keyed_answer_is_graded_at_once_and_saved_once_its_runs_name_the_torch(
    library: Library,
) -> None:
    quiz = quiz_of(library)
    question = by_id(library, "accumulate")
    answered = quiz.submit(question, "B", NOW, seconds=3.0, hints=0)
    assert answered is not None and answered.verdict is not None
    assert not answered.verdict.correct
    assert answered.stage is Stage.GRADED
    assert quiz.to_save() == []  # its runs are not back: the saved answer would name no torch
    quiz.runs_started("accumulate")
    ready = quiz.runs_arrived("accumulate", [run("accumulate", "A")], None, TORCH)
    assert ready == [answered] and answered.torch == TORCH
    assert quiz.to_save(leaving=True) == [answered]
    assert quiz.to_save() == []  # handed out once until it is reported back
    assert quiz.save_done(answered, None) is False  # saved at the first try: nothing to say
    assert stage_of(answered) is Stage.SAVED and quiz.unsaved == []
    assert quiz.saved["accumulate"] == "wrong"


def test_a_second_submit_of_the_same_attempt_is_refused(library: Library) -> None:
    quiz = quiz_of(library)
    question = by_id(library, "accumulate")
    assert quiz.submit(question, "A", NOW, 1.0, 0) is not None
    assert quiz.submit(question, "B", NOW, 1.0, 0) is None
    assert len(quiz.unsaved) == 1


def test_a_numeric_answer_left_behind_is_graded_when_its_runs_arrive(library: Library) -> None:
    quiz = quiz_of(library)
    how_much = by_id(library, "how-much")
    quiz.go_to("how-much")
    quiz.runs_started("how-much")
    answered = quiz.submit(how_much, 6.0, NOW, seconds=30.0, hints=1)
    assert answered is not None and answered.stage is Stage.WAITING
    quiz.move(1)  # the learner presses `n` before the runs are back
    assert quiz.question is not None and quiz.question.id == "arrange"
    assert quiz.runs_arrived("accumulate", [run("accumulate", "A")], None, TORCH) == []
    assert answered.stage is Stage.WAITING
    ready = quiz.runs_arrived("how-much", [run("how-much", "main", answer=6.0)], None, TORCH)
    assert ready == [answered]
    assert answered.verdict is not None and answered.verdict.correct
    assert quiz.state("how-much") == "right"
    assert quiz.to_save(leaving=True) == [answered]


def test_kept_results_grade_at_once_and_the_fresh_run_replaces_them(library: Library) -> None:
    quiz = quiz_of(library)
    how_much = by_id(library, "how-much")
    quiz.runs_started("how-much")
    answered = quiz.submit(how_much, 6.0, NOW, seconds=2.0, hints=0)
    assert answered is not None and answered.stage is Stage.WAITING
    old = Kept(run("how-much", "main", answer=6.0), "2.13.0+cpu", "2026-11-30T08:00:00+00:00")
    new = Kept(old.result, "2.13.0+cpu", "2026-12-01T08:00:00+00:00")
    assert quiz.kept_arrived("how-much", [new, old], None) == [answered]
    # Graded and ready to save while the fresh run is still out, naming the kept run's torch.
    assert quiz.running("how-much") and answered.torch == TORCH
    assert answered.verdict is not None and answered.verdict.correct
    assert quiz.to_save() == [answered]
    assert quiz.kept("how-much") is old  # the label says the oldest
    fresh = run("how-much", "main", answer=6.0)
    assert quiz.runs_arrived("how-much", [fresh], None, TORCH) == []
    assert quiz.kept("how-much") is None and quiz.results("how-much") == {"main": fresh}


def test_kept_results_never_replace_fresh_ones_and_a_rerun_shows_none(library: Library) -> None:
    quiz = quiz_of(library)
    quiz.runs_started("how-much")
    fresh = run("how-much", "main", answer=6.0)
    quiz.runs_arrived("how-much", [fresh], None, TORCH)
    late = Kept(run("how-much", "main", answer=7.0), TORCH, "2026-11-30T08:00:00+00:00")
    quiz.kept_arrived("how-much", [late], None)
    assert quiz.results("how-much")["main"] is fresh and quiz.kept("how-much") is None
    quiz.runs_started("arrange")
    quiz.kept_arrived("arrange", [Kept(run("arrange", "reference"), TORCH, "2026-11-30")], None)
    assert quiz.kept("arrange") is not None
    quiz.runs_started("arrange", again=True)
    assert quiz.kept("arrange") is None and quiz.results("arrange") == {}


def test_a_kept_result_stands_when_its_fresh_run_does_not_finish_unless_a_rerun_came_since(
    library: Library,
) -> None:
    quiz = quiz_of(library)
    first = quiz.runs_started("how-much")
    kept = Kept(run("how-much", "main", answer=7.0), TORCH, "2026-11-30T08:00:00+00:00")
    quiz.kept_arrived("how-much", [kept], None, round_=first)
    quiz.runs_arrived("how-much", [kept.result], None, TORCH, stood=[kept], round_=first)
    assert quiz.kept("how-much") is kept and quiz.kept_stood("how-much")
    assert not quiz.running("how-much")
    # A re-run asked for while an older batch is out: the older one, back last, is stale.
    older = quiz.runs_started("how-much")
    rerun = quiz.runs_started("how-much", again=True)
    assert rerun != older and quiz.kept("how-much") is None
    fresh = run("how-much", "main", answer=6.0)
    quiz.runs_arrived("how-much", [fresh], None, TORCH, round_=rerun)
    quiz.kept_arrived("how-much", [kept], None, round_=older)
    quiz.runs_arrived("how-much", [kept.result], None, TORCH, stood=[kept], round_=older)
    assert quiz.results("how-much") == {"main": fresh} and quiz.kept("how-much") is None
    assert not quiz.running("how-much") and not quiz.kept_stood("how-much")


def test_the_upcoming_question_is_the_next_one_and_none_past_a_drill(library: Library) -> None:
    quiz = quiz_of(library)
    ids = [q.id for q in library.questions]
    upcoming = quiz.upcoming()
    assert upcoming is not None and upcoming.id == ids[1]
    assert quiz.upcoming() is upcoming  # the attempt it will show, drawn once
    quiz.move(-1)
    wrapped = quiz.upcoming()
    assert wrapped is not None and wrapped.id == ids[0]
    quiz.start_drill([by_id(library, "how-much")])
    assert quiz.upcoming() is None


def test_an_order_answer_waits_for_its_own_arrangement(library: Library) -> None:
    quiz = quiz_of(library)
    arrange = by_id(library, "arrange")
    quiz.runs_started("arrange")
    quiz.runs_arrived("arrange", [run("arrange", "reference")], None, TORCH)
    mine = ("optimizer.zero_grad()", "loss.backward()")
    answered = quiz.submit(arrange, mine, NOW, 5.0, 0)
    assert answered is not None and answered.stage is Stage.WAITING
    quiz.runs_started("arrange")
    other = ("loss.backward()",)
    assert quiz.runs_arrived("arrange", [run("arrange", "yours")], other, TORCH) == []
    quiz.runs_started("arrange")
    assert quiz.runs_arrived("arrange", [run("arrange", "yours")], mine, TORCH) == [answered]
    # Same trace as the reference (both made up alike): right.
    assert answered.verdict is not None and answered.verdict.correct


def test_untrusted_keyed_answers_save_without_a_torch_and_numbers_wait(library: Library) -> None:
    quiz = quiz_of(library, trusted=False)
    keyed = quiz.submit(by_id(library, "true-or-false"), True, NOW, 1.0, 0)
    number = quiz.submit(by_id(library, "how-much"), 6.0, NOW, 1.0, 0)
    assert keyed is not None and number is not None
    assert quiz.to_save() == [keyed] and keyed.torch is None
    assert number.stage is Stage.WAITING and quiz.waiting() == [number]
    assert quiz.to_save(leaving=True) == []  # ungraded: nothing to write even at exit


def test_at_exit_a_graded_answer_is_written_without_its_runs(library: Library) -> None:
    quiz = quiz_of(library)
    answered = quiz.submit(by_id(library, "accumulate"), "A", NOW, 1.0, 0)
    assert quiz.to_save() == []
    assert quiz.to_save(leaving=True) == [answered]


def test_a_failed_save_is_said_once_then_said_again_when_it_succeeds(library: Library) -> None:
    quiz = quiz_of(library, trusted=False)
    answered = quiz.submit(by_id(library, "accumulate"), "A", NOW, 1.0, 0)
    assert answered is not None
    assert quiz.to_save(leaving=True) == [answered]
    assert quiz.save_done(answered, "the disk is full") is True
    assert quiz.failing() == [answered] and answered.stage is Stage.GRADED
    assert quiz.to_save(leaving=True) == [answered]
    assert quiz.save_done(answered, "the disk is full") is False  # already told
    assert quiz.to_save(leaving=True) == [answered]
    assert quiz.save_done(answered, None) is True  # "saved now"
    assert quiz.failing() == [] and quiz.unsaved == []


def test_a_drill_serves_its_questions_fresh_and_counts_only_its_own_answers(
    library: Library,
) -> None:
    quiz = quiz_of(library)
    how_much, accumulate = by_id(library, "how-much"), by_id(library, "accumulate")
    quiz.runs_started("how-much")
    quiz.runs_arrived("how-much", [run("how-much", "main", answer=6.0)], None, TORCH)
    wrong = quiz.submit(how_much, 5.0, NOW, 1.0, 0)
    assert wrong is not None and quiz.state("how-much") == "wrong"
    quiz.start_drill([how_much, accumulate])
    assert quiz.question is not None and quiz.question.id == "how-much"
    assert quiz.answered(how_much) is None  # fresh: answerable again
    assert wrong in quiz.unsaved  # and the earlier answer is still written
    assert quiz.where(how_much) == "drill 1/2 · 4/7"
    again = quiz.submit(how_much, 6.0, NOW, 1.0, 0)
    assert again is not None and again.verdict is not None and again.verdict.correct
    assert quiz.move(1) is None
    over = quiz.move(1)
    assert over == DrillOver(answered=1, questions=2, right=1)
    assert str(over) == "Drill over: 1 of its 2 questions answered."
    assert quiz.drill is None and quiz.question is not None and quiz.question.id == "accumulate"
    assert quiz.where(accumulate, complete=False) == "1/…"


def test_going_to_a_question_outside_the_drill_ends_it(library: Library) -> None:
    quiz = quiz_of(library, drill=["how-much", "arrange"])
    assert quiz.where(by_id(library, "how-much")) == "drill 1/2 · 4/7"
    assert quiz.go_to("arrange") and quiz.drill is not None and quiz.position == 1
    assert quiz.go_to("pick-many") and quiz.drill is None
    assert quiz.question is not None and quiz.question.id == "pick-many"
    assert not quiz.go_to("no-such-question")


def test_skipping_drops_from_the_drill_and_the_last_one_ends_it(library: Library) -> None:
    quiz = quiz_of(library, drill=["how-much", "arrange"])
    assert quiz.drop_from_drill(by_id(library, "how-much")) is None
    assert [q.id for q in quiz.walk] == ["arrange"] and quiz.position == 0
    over = quiz.drop_from_drill(by_id(library, "arrange"))
    assert over == DrillOver(answered=0, questions=1)
    # Back in the bank, past the question skipped.
    assert quiz.question is not None and quiz.question.id == "fails"


def test_next_and_previous_wrap_around_the_bank(library: Library) -> None:
    quiz = quiz_of(library)
    quiz.move(-1)
    assert quiz.question is not None and quiz.question.id == library.questions[-1].id
    quiz.move(1)
    assert quiz.question is not None and quiz.question.id == library.questions[0].id


def test_reopens_at_the_first_question_due_else_the_first_never_answered(
    library: Library,
) -> None:
    quiz = quiz_of(library)
    quiz.saved = {"accumulate": "right", "pick-many": "wrong"}
    quiz.due = {"accumulate": NOW + timedelta(days=3), "pick-many": NOW + timedelta(days=1)}
    assert quiz.reopen(NOW)
    assert quiz.question is not None and quiz.question.id == "true-or-false"
    quiz = quiz_of(library)
    quiz.saved = {"accumulate": "right", "pick-many": "wrong"}
    quiz.due = {
        "accumulate": NOW - timedelta(hours=1),
        "pick-many": NOW - timedelta(days=2),
        # Skipped for today, never answered: it has a card that is due, but it rests.
        "how-much": NOW - timedelta(days=3),
    }
    assert quiz.reopen(NOW)
    assert quiz.question is not None and quiz.question.id == "pick-many"


def test_does_not_move_a_learner_who_went_somewhere(library: Library) -> None:
    asked = quiz_of(library, start="arrange")
    asked.saved = {"arrange": "right"}
    assert not asked.reopen(NOW) and asked.question is not None
    assert asked.question.id == "arrange"
    walked = quiz_of(library)
    walked.move(1)
    assert not walked.reopen(NOW)


def test_runs_are_asked_for_once_unless_again(library: Library) -> None:
    quiz = quiz_of(library)
    question = by_id(library, "accumulate")
    assert quiz.wants_runs(question)
    quiz.runs_started("accumulate")
    assert not quiz.wants_runs(question) and quiz.running("accumulate")
    quiz.runs_arrived("accumulate", [run("accumulate", "A")], None, TORCH)
    assert not quiz.wants_runs(question) and not quiz.running("accumulate")
    assert quiz.wants_runs(question, again=True)
    quiz.runs_started("accumulate", again=True)
    assert quiz.results("accumulate") == {}
    assert not quiz_of(library, trusted=False).wants_runs(question)


def test_reset_forgets_answers_and_history(library: Library) -> None:
    quiz = quiz_of(library)
    quiz.saved = {"accumulate": "right", "pick-many": "wrong"}
    quiz.leeches = {"accumulate", "pick-many"}
    quiz.submit(by_id(library, "pick-many"), frozenset({"A"}), NOW, 1.0, 0)
    quiz.reset(["pick-many"])
    assert quiz.state("pick-many") == "new" and quiz.state("accumulate") == "right"
    assert quiz.leeches == {"accumulate"}
    quiz.reset()
    assert quiz.state("accumulate") == "new" and quiz.leeches == set()


BUNDLED = Path(__file__).parent.parent / "questions"


@pytest.fixture(scope="module")
def bank() -> Library:
    return load([BUNDLED])


def test_an_attempt_is_drawn_once_and_a_new_attempt_draws_again(bank: Library) -> None:
    import random

    question = by_id(bank, "trace-sgd-steps-by-hand")
    quiz = Quiz(bank.questions, lambda q: True, start=question.id, rng=random.Random(7))
    first = quiz.question
    assert first is not None and first.draw is not None
    # The prompt shows the drawn learning rate, never the placeholder.
    assert "{{" not in first.prompt.get() and "{{lr}}" in question.prompt.get()
    assert quiz.question is first  # shown again: the same attempt, the same numbers
    lrs = set()
    for _ in range(12):
        quiz.start_drill([question])  # every drill starts a new attempt
        shown = quiz.question
        assert shown is not None and shown.draw is not None
        lrs.add(shown.draw.number)
    assert lrs == {0, 1, 2}


def test_a_new_draw_drops_the_old_draws_runs_unless_an_answer_waits_for_them(
    bank: Library,
) -> None:
    import random

    from gradquiz.blanks import Cells

    question = by_id(bank, "trace-sgd-steps-by-hand")
    quiz = Quiz(bank.questions, lambda q: True, start=question.id, rng=random.Random(1))
    first = quiz.question
    assert first is not None
    quiz.runs_started(question.id)
    waiting = quiz.submit(first, Cells((1.0, 2.0)), NOW, 1.0, 0)
    assert waiting is not None and waiting.stage is Stage.WAITING
    quiz.start_drill([question])
    assert quiz.question is first  # its answer still waits: the draw stays
    quiz.runs_arrived(question.id, [run(question.id, "main")], None, TORCH)
    assert stage_of(waiting) is Stage.GRADED
    quiz.start_drill([question])
    assert quiz.question is not first and quiz.results(question.id) == {}


def test_choices_are_shuffled_per_attempt_and_graded_by_id(bank: Library) -> None:
    import random

    from gradquiz.format.params import choice_order

    question = next(q for q in bank.questions if q.type == "single" and q.shuffle)
    quiz = Quiz(bank.questions, lambda q: False, start=question.id, rng=random.Random(3))
    orders = set()
    for _ in range(8):
        quiz.start_drill([question])
        shown = quiz.question
        assert shown is not None and shown.draw is not None
        ids = tuple(c.id for c in shown.choices)
        assert ids == choice_order(question, shown.draw.seed)
        assert sorted(ids) == sorted(c.id for c in question.choices)
        orders.add(ids)
    assert len(orders) > 1
    assert shown is not None
    key = question.answer
    assert isinstance(key, str)
    answered = quiz.submit(shown, key, NOW, 1.0, 0)
    assert answered is not None and answered.verdict is not None and answered.verdict.correct


def test_the_next_review_is_said_once_the_answer_is_saved(library: Library) -> None:
    from gradquiz.quiz import review_in

    assert [
        review_in(timedelta(seconds=s))
        for s in (20, 600, 3600 * 5, 3600 * 23.8, 86400 * 3.4, 86400 * 12.6)
    ] == ["in under a minute", "in 10 minutes", "in 5 hours", "tomorrow", "in 3 days", "in 13 days"]
    quiz = quiz_of(library)
    answered = quiz.submit(by_id(library, "pick-many"), frozenset({"A"}), NOW, 1.0, 0)
    assert answered is not None
    quiz.due["pick-many"] = NOW + timedelta(days=4)
    assert quiz.next_review("pick-many", NOW) is None  # not saved: the schedule has not moved
    quiz.save_done(answered, None)
    assert quiz.next_review("pick-many", NOW) == "in 4 days"


def test_undo_takes_back_the_last_answer_and_shows_its_question_again(library: Library) -> None:
    quiz = quiz_of(library)
    assert quiz.to_undo() == "Nothing to undo in this session."
    quiz.saved["pick-many"] = "right"
    quiz.due["pick-many"] = NOW + timedelta(days=2)
    quiz.start_drill([by_id(library, "pick-many"), by_id(library, "accumulate")])
    pick_many = quiz.question
    assert pick_many is not None
    answered = quiz.submit(pick_many, frozenset({"C"}), NOW, 1.0, 0)
    assert answered is not None
    assert quiz.to_save(leaving=True) == [answered]
    assert quiz.to_undo() == "That answer is being saved; undo again in a moment."
    row = Answer("pick-many", "h", "t", NOW, '["C"]', False, 1.0, None, 1)
    quiz.save_done(answered, None, Review(row, 7, None))
    quiz.due["pick-many"] = NOW + timedelta(minutes=10)
    quiz.move(1)
    assert quiz.state("pick-many") == "wrong"
    assert quiz.to_undo() is answered
    quiz.undo(answered)
    shown = quiz.question
    assert shown is not None and shown.id == "pick-many" and shown.draw == pick_many.draw
    assert quiz.answered(shown) is None and answered not in quiz.unsaved
    assert quiz.state("pick-many") == "right" and quiz.due["pick-many"] == NOW + timedelta(days=2)
    assert quiz.drill is not None and quiz.drill.answered == set()
    assert quiz.to_undo() == "Nothing to undo in this session."


def test_a_drill_ends_with_a_summary_of_right_to_review_and_next_due(library: Library) -> None:
    quiz = quiz_of(library)
    pick_many, accumulate = by_id(library, "pick-many"), by_id(library, "accumulate")
    quiz.start_drill([pick_many, accumulate])
    quiz.submit(quiz.attempt(pick_many), frozenset({"C"}), NOW, 1.0, 0)  # wrong: A and B
    quiz.move(1)
    quiz.submit(quiz.attempt(accumulate), "A", NOW, 1.0, 0)
    quiz.due = {"pick-many": NOW + timedelta(minutes=10), "accumulate": NOW + timedelta(days=9)}
    over = quiz.move(1)
    assert over is not None
    assert over.summary(NOW) == (
        "Drill over: 2 of its 2 questions answered, 1 right. "
        "Review: “Which calls clear the gradient?”. Next due in 10 minutes."
    )
    # In Chinese the sentences follow each other without a space.
    i18n.use("zh")
    try:
        summary = over.summary(NOW)
    finally:
        i18n.use("en")
    assert "。再看看：" in summary and "。 " not in summary, summary


def saved_with(quiz: Quiz, answered: Answered, *, leech: bool, cleared: bool = False) -> None:
    """`answered` written, with what the store said of the question's leech."""
    stored = Answer(answered.question.id, "h", "t", NOW, '""', False, 1.0, None, 1)
    assert quiz.to_save(leaving=True) == [answered]
    quiz.save_done(answered, None, Review(stored, 1, None, leech=leech, cleared=cleared))


def test_a_leech_is_said_in_the_verdict_note_and_the_summary_and_a_closer_look_reopens_it(
    library: Library,
) -> None:
    quiz = quiz_of(library)
    accumulate, pick_many = by_id(library, "accumulate"), by_id(library, "pick-many")
    quiz.start_drill([accumulate, pick_many])
    answered = quiz.submit(quiz.attempt(accumulate), "B", NOW, 1.0, 0)
    assert answered is not None and answered.verdict is not None
    assert not quiz.is_leech("accumulate") and not quiz.closer_look("accumulate")
    saved_with(quiz, answered, leech=True)
    assert quiz.is_leech("accumulate") and quiz.facts("accumulate").leech
    assert quiz.leech_note("accumulate", playground=True) == (
        "Missed 6 times: a leech now, so it leaves your drills. Press k for a closer look "
        "(every hint, o for the playground); a right answer brings it back."
    )
    # Served to a class without editing, `o` opens nothing: it is not offered.
    assert quiz.leech_note("accumulate", playground=False) == (
        "Missed 6 times: a leech now, so it leaves your drills. Press k for a closer look "
        "(every hint); a right answer brings it back."
    )
    quiz.move(1)
    over = quiz.move(1)
    assert over is not None and over.leeches == (accumulate,)
    assert over.summary(NOW).endswith(
        "Leeches, out of drills until a closer look (l, state leech): “Where does the gradient "
        "go?”."
    )
    # The closer look: the same question afresh, answered right, clears it.
    assert quiz.closer_look("accumulate")
    shown = quiz.question
    assert shown is not None and shown.id == "accumulate" and quiz.answered(shown) is None
    again = quiz.submit(shown, "A", NOW, 1.0, 2)
    assert again is not None and again.leech_before
    saved_with(quiz, again, leech=False, cleared=True)
    assert not quiz.is_leech("accumulate")
    assert (
        quiz.leech_note("accumulate", playground=True)
        == "Leech cleared: it is back in your drills."
    )
    # Undone, the clearing answer leaves the question a leech, as it was.
    quiz.undo(again)
    assert quiz.is_leech("accumulate")
