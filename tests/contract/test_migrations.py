"""The migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import server.db.models  # noqa: F401  (the tables)
from server.services.context import Services


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
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
    assert tables - set(SQLModel.metadata.tables) <= {"alembic_version"}
