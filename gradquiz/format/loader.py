"""A question file's bytes -> its validated questions, with every problem located.

Reading files, in order and with a cache, is `library`'s work; this module imports PyYAML.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gradquiz.format.model import (
    Choice,
    Experiment,
    NumericAnswer,
    PackInfo,
    Question,
    QuestionType,
    Text,
    TraceAnswer,
    Verify,
)
from gradquiz.format.params import PLACEHOLDER
from gradquiz.format.problems import Location, Problem, ProblemError
from gradquiz.format.schema import (
    CHOICE_ID_KIND,
    CHOICE_VERIFY,
    FILE_FIELDS,
    NUMERIC_FIELDS,
    QUESTION_FIELDS,
    TRACE_FIELDS,
    TYPE_RULES,
    ProblemGroup,
    expected,
    read_fields,
)
from gradquiz.format.yamlsafe import Mapping, Node, Scalar, Sequence, parse, read_text
from gradquiz.i18n import N_, _


def parse_pack(
    name: str, data: bytes, sha256: str
) -> tuple[PackInfo, list[Question], list[Problem]]:
    """The pack, questions and problems in the bytes of file `name`, whose SHA-256 is `sha256`."""
    try:
        root = parse(name, read_text(name, data))
    except ProblemError as exc:
        return PackInfo(name, sha256=sha256), [], [exc.problem]
    return _document(name, root, sha256)


def load_document(name: str, root: Node | None) -> tuple[list[Question], list[Problem]]:
    _pack, questions, problems = _document(name, root, "")
    return questions, problems


def _document(
    name: str, root: Node | None, sha256: str
) -> tuple[PackInfo, list[Question], list[Problem]]:
    problems: list[ProblemError] = []
    if root is None:
        empty = _("file is empty; expected a pack or a question")
        return PackInfo(name, sha256=sha256), [], [Problem(Location(name), empty)]
    if isinstance(root, Mapping) and root.get("id") is not None:
        pack = PackInfo(name, sha256=sha256)
        nodes: list[Node] = [root]
    else:
        try:
            values, _locations = read_fields(root, FILE_FIELDS, N_("a question file"), problems)
        except ProblemError as exc:
            return PackInfo(name, sha256=sha256), [], [exc.problem]
        pack = replace(_pack(name, values.get("pack", {})), sha256=sha256)
        listed = values.get("questions")
        nodes = []
        if isinstance(listed, Sequence):
            nodes = listed.items
        elif listed is not None:
            problems.append(expected(listed, "a list of questions"))
    questions = []
    for node in nodes:
        question = _question(node, pack, problems)
        if question is not None:
            questions.append(question)
    return pack, questions, sorted(_flatten(problems))


def _flatten(problems: list[ProblemError]) -> list[Problem]:
    flat: list[Problem] = []
    for error in problems:
        if isinstance(error, ProblemGroup):
            flat.extend(_flatten(error.problems))
        else:
            flat.append(error.problem)
    return flat


def _pack(name: str, values: dict[str, Any]) -> PackInfo:
    return PackInfo(
        name, values.get("title"), values.get("description"), tuple(values.get("authors", ()))
    )


def _question(node: Node, pack: PackInfo, problems: list[ProblemError]) -> Question | None:
    found: list[ProblemError] = []
    try:
        values, locations = read_fields(node, QUESTION_FIELDS, N_("a question"), found)
    except ProblemError as exc:
        problems.append(exc)
        return None
    assert isinstance(node, Mapping)
    kind: QuestionType | None = values.get("type")
    choices = tuple(Choice(**c) for c in values.get("choices", ()))
    experiment = Experiment(**values["experiment"]) if "experiment" in values else None
    verify = Verify(**values["verify"]) if "verify" in values else None
    answer: Any = None
    if "answer" in values and kind is not None:
        try:
            answer = _answer(kind, values["answer"], choices)
        except ProblemError as exc:
            found.append(exc)
    required = ("id", "type", "title", "prompt", "topic")
    if found or kind is None or any(name not in values for name in required):
        problems.extend(found)
        return None
    question = Question(
        id=values["id"],
        type=kind,
        title=values["title"],
        prompt=values["prompt"],
        topic=values["topic"],
        pack=pack,
        location=node.location,
        tags=tuple(values.get("tags", ())),
        difficulty=values.get("difficulty", 2),
        hints=tuple(values.get("hints", ())),
        explanation=values.get("explanation"),
        references=tuple(values.get("references", ())),
        experiment=experiment,
        choices=choices,
        answer=answer,
        verify=verify,
        lines=tuple(values.get("lines", ())),
        distractors=tuple(values.get("distractors", ())),
        blanks=tuple(values.get("blanks", ())),
        params=values.get("params", ()),
        shuffle=values.get("shuffle", True),
        field_locations=locations,
    )
    rule_problems = [ProblemError(loc, msg) for loc, msg in _rules(question)]
    problems.extend(rule_problems)
    return None if rule_problems else question


def _answer(kind: str, node: Node, choices: tuple[Choice, ...]) -> Any:
    if kind == "single":
        return _choice_id(node, CHOICE_ID_KIND.read(node), choices)
    if kind == "multiple":
        if not isinstance(node, Sequence):
            raise expected(node, _("a list of choice ids"))
        ids = [_choice_id(item, CHOICE_ID_KIND.read(item), choices) for item in node.items]
        if len(set(ids)) != len(ids):
            raise ProblemError(node.location, _("a choice id is listed twice"))
        return tuple(ids)
    if kind == "truefalse":
        if not isinstance(node, Scalar) or not isinstance(node.value, bool):
            raise expected(node, _("true or false"))
        return node.value
    if kind == "numeric":
        found: list[ProblemError] = []
        values, _locations = read_fields(node, NUMERIC_FIELDS, N_("a numeric answer"), found)
        if found:
            raise ProblemGroup(found)
        return NumericAnswer(**values)
    if kind == "trace":
        found = []
        values, _locations = read_fields(node, TRACE_FIELDS, N_("a trace answer"), found)
        if found:
            raise ProblemGroup(found)
        return TraceAnswer(**values)
    message = _("order questions have no answer: they are graded by running")
    raise ProblemError(node.location, message)


def _choice_id(node: Node, value: str, choices: tuple[Choice, ...]) -> str:
    if choices and all(c.id != value for c in choices):
        known = ", ".join(c.id for c in choices)
        message = _("answer {value} is not a choice id ({known})")
        raise ProblemError(node.location, message.format(value=repr(value), known=known))
    return value


def _rules(q: Question) -> list[tuple[Location, str]]:
    """The rules that tie fields together once each one is valid on its own."""
    out: list[tuple[Location, str]] = []
    rule = TYPE_RULES[q.type]
    a_type = _("an {type} question") if q.type[0] in "aeiou" else _("a {type} question")
    a_type = a_type.format(type=q.type)
    for key in rule.needs:
        if key not in q.field_locations:
            needs = _("{a_type} needs {key}").format(a_type=a_type, key=_a_key(key))
            out.append((q.location, needs))
    for key in rule.refused():
        if key in q.field_locations:
            takes_no = _("{a_type} takes no {key}").format(a_type=a_type, key=repr(key))
            out.append((q.where(key), takes_no))
    ids = [c.id for c in q.choices]
    for index, choice_id in enumerate(ids):
        if choice_id in ids[:index]:
            twice = _("choice id {id} is used twice").format(id=repr(choice_id))
            out.append((q.where("choices"), twice))
    out.extend(_experiment_rules(q))
    out.extend(_verify_rules(q))
    out.extend(_blank_rules(q))
    out.extend(_placeholder_rules(q))
    return out


def _blank_rules(q: Question) -> list[tuple[Location, str]]:
    """What can be said of the blanks before running: the run says whether the cells exist."""
    out: list[tuple[Location, str]] = []
    where = q.where("blanks")
    cells = [(b.row, b.column) for b in q.blanks if not b.raises]
    for index, cell in enumerate(cells):
        if cell in cells[:index]:
            out.append((where, f"the blank at row {cell[0]}, {cell[1]} is listed twice"))
    errors = [b for b in q.blanks if b.raises]
    if len(errors) > 1:
        out.append((where, "a run raises once: at most one 'raises' blank"))
    elif errors and any(row >= errors[0].row for row, _ in cells):
        out.append((where, "no row comes after the one that raises; blank cells before it"))
    watch = q.experiment.watch if q.experiment is not None else None
    if watch is not None:
        labels = [label for label, _ in watch]
        for _row, column in cells:
            if column not in labels:
                out.append(
                    (where, f"blank column {column!r} is not a watch label ({', '.join(labels)})")
                )
    if q.blanks and len(errors) == len(q.blanks):
        out.append((where, "blank at least one cell: the error alone leaves no table to predict"))
    return out


def texts(q: Question) -> list[Text]:
    """Every text the learner reads, where `{{name}}` shows a drawn parameter."""
    out = [q.title, q.prompt, *q.hints]
    if q.explanation is not None:
        out.append(q.explanation)
    for choice in q.choices:
        out.append(choice.text)
        if choice.feedback is not None:
            out.append(choice.feedback)
    return out


def _placeholder_rules(q: Question) -> list[tuple[Location, str]]:
    names = {p.name for p in q.params}
    unknown = sorted(
        {
            name
            for text in texts(q)
            for body in text.by_language.values()
            for name in PLACEHOLDER.findall(body)
            if name not in names
        }
    )
    if not unknown:
        return []
    known = ", ".join(sorted(names)) or "none: the question has no 'params'"
    listed = ", ".join("{{" + name + "}}" for name in unknown)
    return [(q.location, f"text shows {listed}, which is not a parameter (params: {known})")]


def _a_key(key: str) -> str:
    return _("an {key}").format(key=repr(key)) if key[0] in "aeiou" else repr(key)


def _experiment_rules(q: Question) -> list[tuple[Location, str]]:
    out: list[tuple[Location, str]] = []
    needs_code = [v for v in q.variants() if v.code is None]
    if needs_code and q.experiment is not None:
        message = (
            _("experiment needs 'code': a choice without 'code' runs it")
            if q.has_choice_variants
            else _("experiment needs 'code': the question runs it")
        )
        out.append((q.where("experiment"), message))
    if q.experiment is None and any(c.code or c.setup for c in q.choices):
        out.append((q.where("choices"), _("choices carry code but there is no 'experiment'")))
    return out


def _verify_rules(q: Question) -> list[tuple[Location, str]]:
    rule = TYPE_RULES[q.type]
    if q.verify is None or not rule.verify:
        return []  # a verify the type does not take is reported with the other keys
    where = q.where("verify")
    given = [key for key in CHOICE_VERIFY if getattr(q.verify, key) is not None]
    takes = _(" or ").join(map(repr, rule.verify))
    if not given:
        return [(where, _("verify needs {keys}").format(keys=takes))]
    if len(given) > 1:
        return [(where, _("verify takes 'same_as' or 'expr', not both"))]
    if given[0] not in rule.verify:
        message = _("verify of a {type} question takes {keys}, not {key}")
        return [(where, message.format(type=q.type, keys=takes, key=repr(given[0])))]
    if q.experiment is None:
        return [(where, _("verify needs an 'experiment' to run"))]
    if q.verify.same_as is not None and q.choice(q.verify.same_as) is None:
        message = _("same_as names {id}, which is not a choice id")
        return [(where, message.format(id=repr(q.verify.same_as)))]
    if q.type in ("single", "multiple") and not q.has_choice_variants:
        return [(where, _("verify compares choices' runs, but no choice carries its own 'code'"))]
    return []
