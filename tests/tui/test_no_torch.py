"""The app's process must never import torch: only the lab's workers do."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_does_not_import_torch() -> None:
    code = "import sys, gradquiz.tui.app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
