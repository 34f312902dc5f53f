"""How traced values read on a screen: rounded for display; the trace keeps full precision."""

from __future__ import annotations

import math
from typing import Any

from gradquiz.i18n import ngettext

DIGITS = 6


def number(value: float, digits: int = DIGITS) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 10 ** (-digits + 1)):
        return f"{value:.{digits - 1}e}"
    text = f"{value:.{digits}f}"
    return text


def cell(value: Any, digits: int = DIGITS, max_items: int = 6) -> str:
    """A short form of a traced value: numbers rounded, long tensors elided."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(value, digits)
    if isinstance(value, list):
        flat = flatten(value)
        if len(flat) == 1:
            return f"[{cell(flat[0], digits)}]" if _depth(value) else cell(flat[0], digits)
        shown = [cell(v, digits) for v in flat[:max_items]]
        more = f", … ({len(flat)} values)" if len(flat) > max_items else ""
        return "[" + ", ".join(shown) + more + "]"
    return str(value)


def flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for sub in value for item in flatten(sub)]
    return [value]


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth += 1
        value = value[0]
    return depth


def jsonable(value: Any) -> Any:
    """Non-finite floats as strings: JSON has no NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


# C0 and C1 controls, DEL, and the bidi overrides that can reorder what a line appears to say.
# Newline and tab are kept by `printable` (prose has lines), escaped by `one_line`.
_UNSAFE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
}
_UNSAFE_KEEP_LINES = {code: text for code, text in _UNSAFE.items() if chr(code) not in "\n\t"}


def printable(text: str) -> str:
    """Text from a pack, safe to send to a terminal: controls shown as escapes, lines kept.

    An ESC or OSC sequence from a stranger's pack could set the clipboard (OSC 52), retitle the
    window or clear the screen; escaped, it reads as what it is.
    """
    text = text.translate(_UNSAFE_KEEP_LINES)
    # A lone surrogate cannot be encoded for any terminal or file.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def one_line(text: str) -> str:
    """`printable` with newlines escaped too: ids and titles must not forge lines."""
    return text.translate(_UNSAFE).encode("utf-8", "backslashreplace").decode("utf-8")


def plural(count: int, singular: str, many: str, **values: object) -> str:
    """A count in words, in the interface's language: `plural(2, "{n} file", "{n} files")`
    is `2 files`. Both forms are whole messages, so a language can place the number itself
    and use its own plural rule (extraction reads calls to `plural` as `ngettext`); `values`
    fill the message's other placeholders."""
    return ngettext(singular, many, count).format(n=count, **values)
