"""Where gradquiz finds its packs and keeps the learner's data."""

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


def home() -> Path:
    """The learner's data directory: GRADQUIZ_HOME, else the platform's user data directory.

    Not created here: a caller that cannot create it carries on without saving.
    """
    named = os.environ.get("GRADQUIZ_HOME")
    if named:
        return Path(named).expanduser()
    from platformdirs import user_data_path

    return user_data_path("gradquiz", appauthor=False)


def cache_dir() -> Path:
    """Parsed question files (see `format.cache`): GRADQUIZ_HOME/cache, else the platform's
    user cache directory. Made when first written."""
    named = os.environ.get("GRADQUIZ_HOME")
    if named:
        return Path(named).expanduser() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path("gradquiz", appauthor=False)


def kept_results() -> Path:
    """Kept experiment results (see `lab.cache`), under the cache directory."""
    return cache_dir() / "results"


def settings_file() -> Path:
    """Hand-written settings (TOML): extra packs, daily limits."""
    return home() / "settings.toml"
