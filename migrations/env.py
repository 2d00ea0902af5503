"""Alembic environment: migrations run on the connection ``server.db.migrate`` hands over."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import server.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from server.db.engine import build_engine
from server.db.search import is_search_object
from server.settings import DEFAULT_DATABASE_URL, normalise_database_url

target_metadata = SQLModel.metadata


def _include(_object: object, name: str | None, kind: str, _reflected: bool, _to: object) -> bool:
    return not is_search_object(name, kind)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    url = normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    engine = build_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the plain `alembic` command line, for developers writing migrations
    asyncio.run(_run_with_own_engine())
