"""Question files in format v1: loading, validation and the JSON Schema. No torch, no textual."""

from gradquiz.format.library import Library, load, load_first
from gradquiz.format.model import Choice, Code, Experiment, Question, Text, Variant
from gradquiz.format.problems import Location, Problem

__all__ = [
    "Choice",
    "Code",
    "Experiment",
    "Library",
    "Location",
    "Problem",
    "Question",
    "Text",
    "Variant",
    "load",
    "load_first",
]
