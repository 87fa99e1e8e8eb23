"""Finding the concepts a question names: ``Bo``, ``bo``, ``<bo>``, ``Bo's``, an alias.

A name matches on word boundaries, ignoring case, with or without surrounding ``<>``, and
with a possessive ``'s`` (or ``'``) after it. Inner spaces match any run of white space.
Where two names overlap ("Bo" inside "Bo Junior"), the longer match wins; "Bo" never
matches inside "Bobby".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol, TypeVar


class Named(Protocol):
    """Anything with a name and aliases (a stored concept)."""

    @property
    def name(self) -> str:
        """The concept's name."""
        ...

    @property
    def aliases(self) -> Sequence[str]:
        """Its other names."""
        ...


N = TypeVar("N", bound=Named)


@lru_cache(maxsize=4096)
def term_pattern(term: str) -> re.Pattern[str]:
    """The pattern that finds ``term`` as a mention."""
    words = [re.escape(w) for w in _fold(term).split()]
    body = r"\s+".join(words)
    return re.compile(rf"(?<![\w<])<?{body}>?(?:['\u2019]s?)?(?![\w>])", re.IGNORECASE)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def find_mentions(text: str, concepts: Iterable[N]) -> list[N]:
    """Concepts named in ``text``, in the order they are first mentioned.

    Args:
        text: A question or caption.
        concepts: Candidates (their names and aliases are matched).

    Returns:
        Each mentioned concept once.
    """
    folded = _fold(text)
    if not folded.strip():
        return []
    spans: list[tuple[int, int, int, N]] = []  # (start, -length, order, concept)
    for order, concept in enumerate(concepts):
        for term in (concept.name, *concept.aliases):
            for match in term_pattern(term).finditer(folded):
                spans.append((match.start(), -(match.end() - match.start()), order, concept))
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, N]] = []
    for start, neg_len, _, concept in sorted(spans, key=lambda s: (s[1], s[0], s[2])):
        end = start - neg_len
        if any(start < e and s < end for s, e in taken):
            continue  # a longer name already claimed these characters
        taken.append((start, end))
        found.append((start, concept))
    ordered: list[N] = []
    for _, concept in sorted(found, key=lambda f: f[0]):
        if all(concept is not c for c in ordered):
            ordered.append(concept)
    return ordered
