"""The core stays free of the screen and of torch (see shared/style.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "gradquiz.format",
    "gradquiz.grading",
    "gradquiz.difference",
    "gradquiz.playground",
    "gradquiz.variants",
    "gradquiz.graphs",
    "gradquiz.lint",
    "gradquiz.locations",
    "gradquiz.display",
    "gradquiz.progress",
    "gradquiz.progress.stats",
    "gradquiz.progress.saving",
    "gradquiz.progress.backups",
    "gradquiz.progress.classroom",
    "gradquiz.classroom.session",
    "gradquiz.quiz",
    "gradquiz.browse",
    "gradquiz.progress.leech",
    "gradquiz.packs",
    "gradquiz.trust",
    "gradquiz.settings",
    "gradquiz.files",
    "gradquiz.i18n",
]
NO_TORCH = [
    *CORE,
    "gradquiz.cli",
    "gradquiz.cli.doctor",
    "gradquiz.lab.client",
    "gradquiz.lab.protocol",
    "gradquiz.lab.isolation",
    "gradquiz.lab.server",
    "gradquiz.classroom.moodle",
    "gradquiz.classroom.notebook",
    "gradquiz.classroom.serve",
]


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize("module", NO_TORCH)
def test_no_torch(module: str) -> None:
    assert "torch" not in loaded_after_import(module)


@pytest.mark.parametrize(
    "module",
    [
        *CORE,
        "gradquiz.lab.client",
        "gradquiz.lab.runner",
        "gradquiz.lab.graph",
        "gradquiz.classroom.moodle",
        "gradquiz.classroom.notebook",
    ],
)
def test_no_textual(module: str) -> None:
    assert "textual" not in loaded_after_import(module)
