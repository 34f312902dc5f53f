"""Packages found, not listed, so a new module can never be left out of the wheel.

Only the bundled packs are named: they live at the top of the checkout (`questions/`, mapped
in pyproject.toml's [tool.setuptools.package-dir]) and no search under gradquiz/ finds them.
Everything else about the build is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(
            include=["gradquiz", "gradquiz.*"],
            # Data, not code: the compiled catalogues ship as gradquiz's package data.
            exclude=["*.__pycache__", "gradquiz.locale", "gradquiz.locale.*"],
        ),
        "gradquiz.questions",
    ]
)
