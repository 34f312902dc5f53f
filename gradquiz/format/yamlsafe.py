"""Safe YAML for files people write: located nodes, no aliases, no tags, no duplicate keys.

PyYAML's composer gives every node its place in the file; we stop there and build plain
values ourselves, so nothing is ever constructed from a tag and every value keeps a location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml

from gradquiz.format.library import MAX_FILE_BYTES
from gradquiz.format.problems import Location, ProblemError
from gradquiz.i18n import _

_YAML = "tag:yaml.org,2002:"
# Timestamps stay strings: a date in a reference list is text, not a datetime.
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True)
class Scalar:
    value: str | int | float | bool | None
    location: Location
    style: str | None = None
    # For block scalars: where the first content line starts (line, column), so code inside
    # the file can be located exactly.
    content_origin: Location | None = None
    # The scalar as written, for messages: YAML reads `yes` as true.
    text: str = ""


@dataclass(frozen=True)
class Sequence:
    items: list[Node]
    location: Location


@dataclass(frozen=True)
class Mapping:
    items: list[tuple[Scalar, Node]]
    location: Location
    keys: dict[str, Scalar] = field(default_factory=dict)

    def get(self, key: str) -> Node | None:
        for k, v in self.items:
            if k.value == key:
                return v
        return None

    def __iter__(self) -> Iterator[tuple[Scalar, Node]]:
        return iter(self.items)


Node = Scalar | Sequence | Mapping


def _location(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


class _AliasGuard(yaml.composer.Composer):
    """Refuses aliases before they are expanded, so a billion-laughs file fails at once."""

    # Provided by the parser this is mixed with (PyYAML's or libyaml's).
    check_event: Callable[..., bool]
    peek_event: Callable[[], yaml.Event]

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in question files; write the value out",
                problem_mark=event.start_mark,  # type: ignore[arg-type]  # libyaml's Mark: same fields
            )
        return super().compose_node(parent, index)


class _PythonComposer(_AliasGuard, yaml.SafeLoader):
    pass


try:
    from yaml._yaml import CParser

    class _FastComposer(_AliasGuard, CParser, yaml.resolver.Resolver):
        """libyaml's events (ten times faster to start the app), composed in Python.

        libyaml's own composer recurses in C and crashes on deep nesting; Python's composer
        stops at the recursion limit instead.
        """

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _Composer: type = _FastComposer
except ImportError:  # PyYAML built without libyaml
    _Composer = _PythonComposer


def read_text(path: str, data: bytes) -> str:
    """Decode a question file, refusing anything oversized or not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise ProblemError(
            Location(path),
            _("file is {size:,} bytes; question files are limited to {limit:,}").format(
                size=len(data), limit=MAX_FILE_BYTES
            ),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ProblemError(
            Location(path, line, column),
            _("file is not UTF-8 (byte 0x{byte:02x})").format(byte=data[exc.start]),
        ) from None


def parse(path: str, text: str) -> Node | None:
    """Parse one YAML document into located nodes; None for an empty file."""
    loader = _Composer(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _location(path, mark) if mark else Location(path)
        message = exc.problem or str(exc)
        if exc.context and exc.context not in message:
            message = f"{exc.context}: {message}"
        raise ProblemError(where, f"YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise ProblemError(Location(path), f"YAML: {exc}") from None
    except RecursionError:
        raise ProblemError(Location(path), "YAML: " + _("nesting is too deep")) from None
    finally:
        loader.dispose()
    if root is None:
        return None
    lines = text.splitlines()
    try:
        return _convert(path, root, lines)
    except RecursionError:
        raise ProblemError(Location(path), "YAML: " + _("nesting is too deep")) from None


def _convert(path: str, node: yaml.Node, lines: list[str]) -> Node:
    where = _location(path, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            raise ProblemError(where, _tag_refused(node))
        style = node.style or None  # libyaml says "" where PyYAML says None
        origin = _content_origin(path, node, lines)
        try:
            value = _scalar_value(node)
        except ValueError:
            # Python refuses to convert an integer of more than 4,300 digits (CVE-2020-10735).
            digits = sum(c.isdigit() for c in str(node.value))
            message = _("a number of {digits:,} digits is too long to read; write it shorter")
            message = message.format(digits=digits)
            raise ProblemError(where, message) from None
        return Scalar(value, where, style, origin, str(node.value))
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _YAML + "seq":
            raise ProblemError(where, _tag_refused(node))
        return Sequence([_convert(path, item, lines) for item in node.value], where)
    if node.tag != _YAML + "map":
        raise ProblemError(where, _tag_refused(node))
    mapping = Mapping([], where)
    for key_node, value_node in node.value:
        key = _convert(path, key_node, lines)
        if not isinstance(key, Scalar) or not isinstance(key.value, str):
            raise ProblemError(key.location, _("keys must be plain strings"))
        if key.value in mapping.keys:
            first = mapping.keys[key.value].location
            message = _("duplicate key {key} (first at line {line})")
            raise ProblemError(key.location, message.format(key=repr(key.value), line=first.line))
        mapping.keys[key.value] = key
        mapping.items.append((key, _convert(path, value_node, lines)))
    return mapping


def _tag_refused(node: yaml.Node) -> str:
    return _("YAML tags like {tag} are not allowed").format(tag=repr(node.tag))


def _scalar_value(node: yaml.ScalarNode) -> str | int | float | bool | None:
    if node.tag in (_YAML + "str", _YAML + "timestamp"):
        return str(node.value)
    value = yaml.SafeLoader.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    assert isinstance(value, int | float | bool | None)
    return value


_CONSTRUCTOR = yaml.SafeLoader("")


def _content_origin(path: str, node: yaml.ScalarNode, lines: list[str]) -> Location:
    """Where the first character of the scalar's text sits in the file."""
    mark = node.start_mark
    if node.style in ("|", ">"):
        # Block content starts on the line after the indicator, at its indentation.
        for index in range(mark.line + 1, min(len(lines), node.end_mark.line + 1)):
            line = lines[index]
            if line.strip():
                return Location(path, index + 1, len(line) - len(line.lstrip(" ")) + 1)
        return Location(path, mark.line + 2, 1)
    quote = 1 if node.style in ('"', "'") else 0
    return Location(path, mark.line + 1, mark.column + 1 + quote)
