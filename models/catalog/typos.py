"""Typo arithmetic for search, pure: how many typos a word may carry, and how far apart two
words are (optimal string alignment: insertions, deletions, substitutions and adjacent
transpositions each cost one, the four slips people make when typing).

The budget follows the search engines people know (Meilisearch, Typesense): short words
must be typed right, a word of 4 letters or more may carry one typo, 9 or more two. It is
the dictionary word's length that counts, so "amy" (a letter dropped from "army") is one
typo from "army" although it is three letters long.
"""

from __future__ import annotations

ONE_TYPO_FROM = 4
TWO_TYPOS_FROM = 9
# A typed word shorter than this is never corrected ("of" is not a typo of "off").
SHORTEST_TYPED = 3


def budget(word: str) -> int:
    """Typos a dictionary word may be typed with and still be found."""
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    if len(word) >= ONE_TYPO_FROM:
        return 1
    return 0


def lookup_depth(typed: str) -> int:
    """Deletions of a typed word to look up: as many as the longest word it may come from
    allows (-1: none). Two only from 7 letters: a 9-letter word with two letters dropped."""
    if len(typed) >= TWO_TYPOS_FROM - 2:
        return 2
    if len(typed) >= SHORTEST_TYPED:
        return 1
    return -1


def distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance, or limit + 1 when it is larger than limit."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[len(b)], limit + 1)


def within_budget(typed: str, word: str) -> int | None:
    """The typos between what was typed and a dictionary word, if the word allows that many."""
    allowed = budget(word)
    if allowed == 0 or len(typed) < SHORTEST_TYPED:
        return None
    d = distance(typed, word, allowed)
    return d if d <= allowed else None


def deletes(word: str, depth: int, prefix: int = 7) -> set[str]:
    """The same keys as SQL's cinema_deletes (for tests and the benchmark's checks)."""
    if depth < 0:
        return set()
    head = word[:prefix]
    keys = {head}
    frontier = {head}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        keys |= frontier
    return keys
