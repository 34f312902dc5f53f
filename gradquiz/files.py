"""Reading a file someone else may have put there: never a hang, never more than a cap.

A pack, `settings.toml` or `trust.json` can be a FIFO (opening it waits for a writer that never
comes), a device (opening some has effects), a directory, a dangling link or a file of
gigabytes. `read_regular` looks before it opens, opens without blocking, and reads at most the
cap, so each of these becomes a sentence (`Unreadable`) about that one file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gradquiz.i18n import _


class Unreadable(Exception):
    """The file cannot be used; the message says why, in words, without the path."""


class Missing(Unreadable):
    """Nothing at the path (a dangling link is `Unreadable`, not `Missing`)."""


def kind(mode: int) -> str:
    """What a file that is not a regular file is, as a person would say it."""
    if stat.S_ISDIR(mode):
        return _("a directory")
    if stat.S_ISFIFO(mode):
        return _("a FIFO (named pipe)")
    if stat.S_ISCHR(mode):
        return _("a character device")
    if stat.S_ISBLK(mode):
        return _("a block device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("not a regular file")


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    Raises Missing when nothing is there, Unreadable for anything else that is not a regular
    file of at most `limit` bytes, or that the system refuses to read.
    """
    try:
        before = path.stat()
    except FileNotFoundError:
        link = dangling(path)
        if link is not None:
            raise Unreadable(link) from None
        raise Missing(_("no such file")) from None
    except NotADirectoryError:
        raise Missing(_("no such file")) from None
    except OSError as exc:
        raise Unreadable(_cannot_read(exc)) from None
    if not stat.S_ISREG(before.st_mode):
        raise Unreadable(_("is {kind}, not a file").format(kind=kind(before.st_mode)))
    try:
        # O_NONBLOCK: had a FIFO taken the file's place since the stat, opening still returns.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise Unreadable(_cannot_read(exc)) from None
    try:
        opened = os.fstat(handle)
        if not stat.S_ISREG(opened.st_mode):
            raise Unreadable(_("is {kind}, not a file").format(kind=kind(opened.st_mode)))
        if opened.st_size > limit:
            raise Unreadable(too_large(opened.st_size, limit))
        chunks: list[bytes] = []
        size = 0
        # Read to one byte past the cap: a file that grew since fstat is still caught.
        while size <= limit:
            chunk = os.read(handle, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Unreadable(too_large(size, limit))
        return b"".join(chunks)
    except OSError as exc:
        raise Unreadable(_cannot_read(exc)) from None
    finally:
        os.close(handle)


def dangling(path: Path) -> str | None:
    """What to say of a symbolic link to nothing; None when `path` is not one."""
    if not path.is_symlink() or path.exists():
        return None
    return _("is a link to {target}, which does not exist").format(target=path.readlink())


def too_large(size: int, limit: int) -> str:
    return _("is {size:,} bytes; the limit is {limit:,}").format(size=size, limit=limit)


def _cannot_read(exc: OSError) -> str:
    return _("cannot be read: {reason}").format(reason=exc.strerror or exc)
