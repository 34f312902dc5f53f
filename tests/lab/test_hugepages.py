"""The worker's memory in huge pages, so that forking a run copies few page-table entries."""

from __future__ import annotations

import os

import pytest

from gradquiz.lab.client import Lab
from gradquiz.lab.hugepages import _private_anonymous
from tests.lab.test_engine import request

MAPS = """\
55bc196db000-55bc20193000 rw-p 00000000 00:00 0                          [heap]
7f0f9e62a000-7f0fa1600000 rw-p 00000000 00:00 0
7f0fbdfe5000-7f0fbe285000 r--p 145e4000 fe:00 7227196                    /lib/libtorch_cpu.so
7f0fc1044000-7f0fc1178000 rw-p 00443000 fe:00 26933                      /lib/libpython3.11.so
7f0fc2000000-7f0fc2200000 rw-s 00000000 00:01 12                         /dev/zero (deleted)
7ffd5d2f0000-7ffd5d311000 rw-p 00000000 00:00 0                          [stack]
"""


def test_only_private_anonymous_writable_memory_is_collapsed() -> None:
    assert _private_anonymous(MAPS) == [
        (0x55BC196DB000, 0x55BC20193000),
        (0x7F0F9E62A000, 0x7F0FA1600000),
    ]


def _kernel() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


@pytest.mark.skipif(_kernel() < (6, 1), reason="MADV_COLLAPSE needs Linux 6.1")
def test_a_run_starts_with_the_workers_memory_in_huge_pages(lab: Lab) -> None:
    code = (
        "huge = 0\n"
        "for line in open('/proc/self/smaps_rollup'):\n"
        "    if line.startswith('AnonHugePages:'):\n"
        "        huge = int(line.split()[1]) // 1024\n"
    )
    result = lab.run(request(code, watch={"MiB": "huge"}))
    assert result.error is None, result.error
    huge = result.rows[0].values["MiB"]
    # Where Linux makes huge pages only when asked (THP "madvise"), there are none without the
    # collapse; a child splits those it writes to.
    assert isinstance(huge, int) and huge >= 16
