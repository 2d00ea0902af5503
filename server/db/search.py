"""Full-text search of initiatives: FTS5 on SQLite, a ``tsvector`` with a GIN index on PostgreSQL.

Both index ``initiatives.search_text`` (kept by the services); the engine objects are made by
migration 0003 and are not models, so the schema comparison leaves them out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, text
from sqlmodel import col

from server.db.models import Initiative

SEARCH_TABLE = "initiatives_search"  # SQLite's FTS5 table (and its shadow tables)
SEARCH_COLUMN = "search_vector"  # PostgreSQL's generated tsvector
SEARCH_INDEX = "ix_initiatives_search"


def is_search_object(name: str | None, kind: str) -> bool:
    """For Alembic's ``include_object``: the search engine's own objects."""
    name = name or ""
    return name.startswith(SEARCH_TABLE) or name in (SEARCH_COLUMN, SEARCH_INDEX)


def matches(dialect: str, words: list[str]) -> ColumnElement[bool]:
    """Initiatives whose search text holds every word (words are ``\\w+`` only: no syntax)."""
    if dialect == "postgresql":
        clause: Any = text(f"initiatives.{SEARCH_COLUMN} @@ to_tsquery('simple', :fts_query)")
        return clause.bindparams(fts_query=" & ".join(words))  # type: ignore[no-any-return]
    query = " AND ".join(f'"{word}"' for word in words)
    rowids = text(f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :fts_query")
    return col(Initiative.id).in_(rowids.bindparams(fts_query=query))
