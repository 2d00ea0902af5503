"""Per-user limits on posting, starting threads and flagging: 429 with Retry-After, nothing
stored over the limit; with Redis the counts are shared by every process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx

from server.db.models import Message, Thread
from server.services.context import Services
from server.settings import Settings
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in


async def test_message_and_thread_limits_refuse_with_retry_after(
    new_client: ClientFactory, services: Services
) -> None:
    services.settings = replace(services.settings, messages_per_minute=3, threads_per_hour=2)
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="limits")
    thread = await make_thread(client, slug="limits")
    await make_thread(client, slug="limits")
    third = await client.post(
        "/api/rooms/limits/threads", json={"title": "3", "body": "b", "kind": "discussion"}
    )
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
    for n in range(3):
        ok = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": f"m{n}"})
        assert ok.status_code == 201
    messages = await count(services, Message)
    over = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": "too many"})
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert await count(services, Message) == messages
    assert await count(services, Thread) == 2


async def test_limits_hold_across_processes_with_redis(
    settings: Settings, client_with: Callable[[Settings], Awaitable[httpx.AsyncClient]]
) -> None:
    """Two apps (two processes' worth of services) on one database and one Redis."""
    redis_url = os.environ.get("GNRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    shared = replace(
        settings,
        redis_url=redis_url,
        redis_prefix=f"gnrp-test-{uuid.uuid4().hex[:8]}:",
        messages_per_minute=4,
    )
    first = await client_with(shared)
    second = await client_with(shared)
    email = f"limited-{uuid.uuid4().hex[:6]}@example.org"
    signup = {
        "email": email,
        "password": "a long password",
        "display_name": "L",
        "handle": email[:14],
    }
    assert (await first.post("/api/auth/signup", json=signup)).status_code == 201
    second.cookies.update(first.cookies)
    room_thread = await _public_thread(settings)
    statuses = []
    for n in range(6):  # alternating between the two apps, one account
        client = first if n % 2 else second
        response = await client.post(
            f"/api/threads/{room_thread}/messages", json={"body": f"alternating {n}"}
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 201, 429, 429]


async def _public_thread(settings: Settings) -> int:
    """A public room and thread, made directly in the shared database."""
    from server.app import build_services
    from server.domain.permissions import Viewer
    from server.services import rooms, threads
    from tests.helpers import make_user

    services = build_services(settings)
    try:
        moderator = await make_user(services, role="moderator")
        viewer = Viewer(user_id=moderator.id, role="moderator")
        await rooms.create_room(
            services, viewer=viewer, slug=f"r-{uuid.uuid4().hex[:6]}", title="Limits",
            description="", theme="other", visibility="public",
        )  # fmt: skip
        listed = await rooms.list_rooms(services, viewer=viewer)
        slug = next(room.slug for room, _ in listed if room.title == "Limits")
        thread, _ = await threads.create_thread(
            services, viewer=viewer, slug=slug, title="T", body="b", kind="discussion",
            countries=[],
        )  # fmt: skip
        return int(thread["id"])
    finally:
        await services.close()
