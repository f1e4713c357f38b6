"""Problems with a scenario: where (a field path as the user wrote it) and what is wrong, listed all at once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sim.model.outputs import printable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, and what."""

    path: str
    message: str

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return printable(text)  # paths hold the user's keys, which may hold terminal escapes


class ScenarioError(ValueError):
    """A scenario that cannot be run; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        header = f"{source}: " if source else ""
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{header}{len(problems)} problem(s) in the scenario\n{lines}")


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
