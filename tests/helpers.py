"""Small helpers the tests share: accounts of a given role, and counting stored rows."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import SQLModel, select

from server.services import accounts
from server.services.context import Services

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


async def make_user(services: Services, *, role: str = "member", handle: str | None = None) -> Any:
    handle = handle or f"user{next(_numbers)}"
    return await accounts.create_user(
        services,
        accounts.NewAccount(
            email=f"{handle}@example.org",
            password=PASSWORD,
            display_name=handle.title(),
            handle=handle,
            role=role,
        ),
    )


async def signed_in(client: httpx.AsyncClient, services: Services, *, role: str = "member") -> Any:
    """Create a user of ``role`` and sign ``client`` in as them."""
    user = await make_user(services, role=role)
    response = await client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return user


async def count(services: Services, model: type[SQLModel]) -> int:
    async with services.read() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def make_room(
    client: httpx.AsyncClient, *, slug: str, visibility: str = "public", theme: str = "spectrum"
) -> dict[str, Any]:
    response = await client.post(
        "/api/rooms",
        json={"slug": slug, "title": slug.title(), "theme": theme, "visibility": visibility},
    )
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()["room"]
    return room


async def make_thread(
    client: httpx.AsyncClient, *, slug: str, title: str = "Emergency spectrum", body: str = "Hi"
) -> dict[str, Any]:
    response = await client.post(
        f"/api/rooms/{slug}/threads", json={"title": title, "body": body, "kind": "question"}
    )
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()["thread"]
    return thread
