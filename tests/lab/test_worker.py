from __future__ import annotations

import subprocess
import sys

from gradquiz.lab.sandbox import CappedStream


def test_a_spare_discarded_at_once_never_hangs() -> None:
    # The kill may come before the child has made its own process group; it must still land.
    code = """
from gradquiz.lab.caps import LabDirectory
from gradquiz.lab.sandbox import fork_spare
lab = LabDirectory()
for _ in range(200):
    fork_spare((), lab, 10**6).discard()
lab.leave()
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "ok\n"


def test_capped_stream_keeps_the_head_and_counts_the_rest() -> None:
    import os
    import tempfile

    with tempfile.TemporaryFile() as handle:
        stream = CappedStream(handle.fileno(), 5)
        assert stream.write("abc") == 3
        assert stream.write("defgh") == 5
        stream.close_note()
        os.lseek(handle.fileno(), 0, 0)
        assert handle.read().decode() == "abcde\n[output cut: 3 more characters not kept]\n"
