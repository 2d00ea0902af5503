"""What a full-text query means: the words in it, nothing else.

Users type quotes, ``*``, ``NEAR``, ``OR`` and brackets; none of it reaches a search engine as
syntax. Both engines get the same words, all required, so SQLite (FTS5) and PostgreSQL
(``tsvector``) answer alike.
"""

from __future__ import annotations

import re

MAX_WORDS = 16
MAX_WORD = 64
_WORD = re.compile(r"\w+")


def search_words(query: str) -> list[str]:
    words: list[str] = []
    for word in _WORD.findall(query.lower()):
        if word not in words and len(word) <= MAX_WORD:
            words.append(word)
        if len(words) == MAX_WORDS:
            break
    return words


def search_document(*parts: str) -> str:
    """The text an initiative is found by: title, summary and timeline notes."""
    return "\n".join(part for part in parts if part)
