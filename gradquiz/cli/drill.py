"""`gradquiz drill [--topic T] [--limit N] [--mistakes] [--list]`: what is due, then new."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gradquiz.cli.app import need_terminal
from gradquiz.cli.common import ExitCode, UsageError, catalog, language, opened_progress
from gradquiz.display import one_line, plural
from gradquiz.format import Question
from gradquiz.i18n import _

if TYPE_CHECKING:
    from gradquiz.progress.drill import Progress
    from gradquiz.progress.history import History


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "drill",
        help=_("practise what is due, then new questions up to a daily limit"),
        parents=[common],
    )
    parser.add_argument("--topic", metavar="T", help=_("only questions of this topic"))
    parser.add_argument("--limit", type=int, metavar="N", help=_("serve at most N questions"))
    parser.add_argument(
        "--mistakes", action="store_true", help=_("only questions whose last answer was wrong")
    )
    parser.add_argument(
        "--list", action="store_true", help=_("print what the drill would serve, and exit")
    )
    parser.set_defaults(handler=handle, opens_app=True)


def handle(args: argparse.Namespace) -> int:
    from gradquiz.progress.history import history

    cat = catalog(args)
    learner = opened_progress()
    # Read once for the queue and the list: over years of answers it is most of the time.
    past = history(learner.store)
    queue = drill_queue(args, learner, cat.library.questions, past)
    if args.list:
        pool = [q for q in cat.library.questions if args.topic in (None, q.topic)]
        print_queue(learner, queue, language(args), pool, past)
        return ExitCode.OK
    learner.store.close()
    if not queue:
        print(_("Nothing is due and today's new questions are done; come back later."))
        return ExitCode.OK
    need_terminal(_("a drill"))
    from gradquiz.tui.app import run_app

    return run_app(cat.library, cat, None, language(args), drill=[q.id for q in queue])


def drill_queue(
    args: argparse.Namespace, progress: Progress, questions: list[Question], past: History
) -> list[Question]:
    topics = sorted({q.topic for q in questions})
    if args.topic is not None and args.topic not in topics:
        message = _("no topic {topic}; the topics are: {topics}")
        raise UsageError(message.format(topic=one_line(repr(args.topic)), topics=", ".join(topics)))
    if args.limit is not None and args.limit < 1:
        raise UsageError(_("--limit must be at least 1"))
    return progress.queue(
        questions,
        datetime.now(UTC),
        topic=args.topic,
        limit=args.limit,
        mistakes=args.mistakes,
        past=past,
    )


def print_queue(
    progress: Progress,
    queue: list[Question],
    lang: str | None,
    pool: list[Question],
    past: History,
) -> None:
    """The queue, then the leeches of `pool` (state `leech`): left out, waiting for a look."""
    from gradquiz.progress.leech import LEECH_MISSES

    seen = past.by_question
    leeches = progress.leeches(past)
    stuck = [q for q in pool if q.id in leeches]
    for q in queue:
        state = "review" if q.id in seen else "new"
        print(f"{q.id}\t{state}\t{q.topic}\t{one_line(q.title.get(lang))}")
    for q in stuck:
        print(f"{q.id}\tleech\t{q.topic}\t{one_line(q.title.get(lang))}")
    print(plural(len(queue), "{n} question to drill.", "{n} questions to drill."), file=sys.stderr)
    if stuck:
        left_out = plural(
            len(stuck),
            "{n} leech left out (missed {misses} times): answer it right from a closer look "
            "in the app (its hints, the playground) to bring it back.",
            "{n} leeches left out (missed {misses} times): answer them right from a closer "
            "look in the app (their hints, the playground) to bring them back.",
            misses=LEECH_MISSES,
        )
        print(left_out, file=sys.stderr)
