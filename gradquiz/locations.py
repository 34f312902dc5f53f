"""Where gradquiz finds its packs."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled_questions() -> Path:
    """The packs shipped with gradquiz: inside the wheel, or at the top of a checkout."""
    installed = PACKAGE / "questions"
    return installed if installed.is_dir() else PACKAGE.parent / "questions"


def environment_paths() -> list[Path]:
    """Packs named by GRADQUIZ_PATH (joined by ':'); found this way, they are not trusted."""
    return [Path(p) for p in os.environ.get("GRADQUIZ_PATH", "").split(os.pathsep) if p]
