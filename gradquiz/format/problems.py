"""Located problems: everything wrong with a question file points at FILE:LINE:COLUMN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, as editors show them."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong with a question file; a `warning` is legal but will not teach well."""

    location: Location
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        # Errors keep the contract's `FILE:LINE:COLUMN: message`; editors and compilers mark
        # warnings the same way gcc does, so problem matchers pick both up.
        if self.severity == "warning":
            return f"{self.location}: warning: {self.message}"
        return f"{self.location}: {self.message}"


class ProblemError(Exception):
    """Raised inside the loader to abandon one value; collected into a Problem."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(location, message)
