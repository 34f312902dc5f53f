"""Leeches: questions missed again and again. No textual, no torch.

The rule, as the README and the app's help state it: a question answered wrong
`LEECH_MISSES` times (every wrong answer counts, not only FSRS lapses, so a question never
once got right becomes a leech too) is a leech. A leech leaves drills, where it would come
back forever, and is offered for a closer look instead: its hints all shown, its experiment a
key away in the playground. A right answer to it (which, out of drills, is given from that
closer look) clears it: it is back in drills, and a leech again only after `LEECH_MISSES`
misses more.
"""

from __future__ import annotations

LEECH_MISSES = 6


def is_leech(misses: int, cleared_at: int | None) -> bool:
    """`misses`: wrong answers ever; `cleared_at`: the misses when it was last cleared."""
    return misses - (cleared_at or 0) >= LEECH_MISSES


def leeches(misses: dict[str, int], cleared: dict[str, int]) -> set[str]:
    """The leeches among questions with these wrong answers ever and these clearings."""
    return {q for q, wrong in misses.items() if is_leech(wrong, cleared.get(q))}
