"""The interface's own words in the learner's language: one gettext catalogue per language.

Mark a string with `_("...")`, a counted one with `ngettext("{n} file", "{n} files", n)` (or
`display.plural`), and a string defined before the language is known (a module constant) with
`N_("...")`, translating it with `_()` where it is shown. Placeholders are `str.format` names,
filled after translation: `_("no question with id {id}").format(id=...)`, so a translator may
move them. docs/translating.md says how to add a string and rebuild the catalogue.

The language is chosen once per command (`use`, called by `gradquiz.cli.main`): `--lang`, else
the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), the same choice as the one for question text. English
is the source language and needs no catalogue: with it (or a language without a catalogue)
nothing is read and `_` returns its argument, so the app's first paint pays nothing for this
(`gettext` itself is imported by argparse anyway).
"""

from __future__ import annotations

import os
from gettext import GNUTranslations
from pathlib import Path
from typing import ClassVar

DOMAIN = "gradquiz"
LOCALE_DIR = Path(__file__).parent / "locale"

__all__ = ["N_", "_", "active", "ngettext", "requested", "stamp", "use"]


class _State:
    catalogue: GNUTranslations | None = None
    language = "en"
    stamp = "en"
    loaded: ClassVar[dict[str, tuple[GNUTranslations, str]]] = {}


def requested(flag: str | None) -> str | None:
    """The language asked for: `--lang`, else the locale's (`zh_CN.UTF-8` -> `zh-CN`); None
    when neither names one (unset, `C`, `POSIX`)."""
    if flag:
        return flag
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split(".")[0].split("@")[0].replace("_", "-")
    return None


def _candidates(language: str) -> list[str]:
    """`zh-Hans-CN` -> zh_Hans_CN, zh: the most specific catalogue first."""
    parts = language.replace("-", "_").split("_")
    return ["_".join(parts[:i]) for i in range(len(parts), 0, -1) if parts[0]]


def use(language: str | None) -> str:
    """Speak `language` from now on (None or one without a catalogue: English); returns the
    language whose catalogue is in use, `en` when none is."""
    for code in _candidates(language or ""):
        file = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if code not in _State.loaded and file.is_file():
            with file.open("rb") as stream:
                info = os.fstat(stream.fileno())
                stamp = f"{code}:{info.st_size}:{info.st_mtime_ns}"
                _State.loaded[code] = (GNUTranslations(stream), stamp)
        if code in _State.loaded:
            _State.catalogue, _State.stamp = _State.loaded[code]
            _State.language = code
            return code
    _State.catalogue, _State.language, _State.stamp = None, "en", "en"
    return "en"


def active() -> str:
    """The language the interface speaks: `en`, or the catalogue's code (`zh`)."""
    return _State.language


def stamp() -> str:
    """The active catalogue as a cache key: `en`, or its code, size and modification time.
    What was made with one catalogue's words is not reused under another's."""
    return _State.stamp


def _(message: str) -> str:
    """`message` in the active language (as written when it has no translation)."""
    catalogue = _State.catalogue
    # gettext("") is the catalogue's header: an empty text (a key without a description) stays so.
    return message if catalogue is None or not message else catalogue.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted message for `count`, by the language's plural rule."""
    catalogue = _State.catalogue
    if catalogue is None:
        return singular if count == 1 else plural
    return catalogue.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it (yet): for constants. The
    name is gettext's own, which extraction knows."""
    return message
