"""The migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import server.db.models  # noqa: F401  (the tables)
from server.db.search import is_search_object
from server.services.context import Services


def _differences(connection: Connection) -> list[object]:
    # The full-text search engine's own objects (FTS5 tables, a generated tsvector) are made by
    # a migration and are not models; everything else must match exactly.
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_object": lambda _o, name, kind, _r, _t: not is_search_object(name, kind),
        },
    )
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrated_schema_equals_the_models(services: Services) -> None:
    # `services` sits on a database built by running every migration from empty.
    async with services.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
        tables = await connection.run_sync(
            lambda sync: set(sync.dialect.get_table_names(sync))  # type: ignore[no-any-return]
        )
    assert differences == []
    assert set(SQLModel.metadata.tables) <= tables
    extra = {t for t in tables - set(SQLModel.metadata.tables) if not is_search_object(t, "table")}
    assert extra <= {"alembic_version"}
