"""Flags: reasons, own message, twice, three members hide, the moderators' queue and its actions."""

from __future__ import annotations

from typing import Any

import httpx

from server.db.models import Flag
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in


async def _message(
    new_client: ClientFactory, services: Services
) -> tuple[httpx.AsyncClient, httpx.AsyncClient, dict[str, Any], int]:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="flagged")
    thread = await make_thread(moderator, slug="flagged")
    author = await new_client()
    await signed_in(author, services)
    posted = await author.post(f"/api/threads/{thread['id']}/messages", json={"body": "Buy now!"})
    return moderator, author, thread, posted.json()["message"]["id"]


async def test_bad_flags_are_refused_and_store_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    _, author, _, message_id = await _message(new_client, services)
    path = f"/api/messages/{message_id}/flag"
    own = await author.post(path, json={"reason": "spam"})
    assert own.status_code == 400
    member = await new_client()
    await signed_in(member, services)
    assert (await member.post(path, json={"reason": "rude"})).status_code == 400
    other = await member.post(path, json={"reason": "other"})
    assert other.status_code == 400 and "note" in other.json()["error"]["fields"]
    assert (await (await new_client()).post(path, json={"reason": "spam"})).status_code == 401
    assert (
        await member.post("/api/messages/99999/flag", json={"reason": "spam"})
    ).status_code == 404
    assert await count(services, Flag) == 0

    assert (await member.post(path, json={"reason": "spam"})).status_code == 201
    twice = await member.post(path, json={"reason": "off-topic"})
    assert twice.status_code == 409
    assert await count(services, Flag) == 1


async def test_three_members_hide_until_a_moderator_reviews(
    new_client: ClientFactory, services: Services
) -> None:
    moderator, author, thread, message_id = await _message(new_client, services)
    for n in range(3):
        member = await new_client()
        await signed_in(member, services)
        flagged = await member.post(
            f"/api/messages/{message_id}/flag", json={"reason": "spam", "note": f"#{n}"}
        )
        assert flagged.json()["flag"]["hidden"] is (n == 2)
    reader = await new_client()
    snapshot = (await reader.get(f"/api/threads/{thread['id']}")).json()
    assert next(m for m in snapshot["messages"] if m["id"] == message_id)["body"] == ""

    queue = (await moderator.get("/api/flags")).json()["flagged"]
    assert [(g["message"]["id"], len(g["flags"])) for g in queue] == [(message_id, 3)]
    assert queue[0]["message"]["body"] == "Buy now!"  # moderators read what was flagged
    assert (await author.get("/api/flags")).status_code == 403

    dismissed = await moderator.post(
        f"/api/flags/{message_id}/resolve", json={"action": "dismiss", "reason": "fine"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["flags"] == 3
    snapshot = (await reader.get(f"/api/threads/{thread['id']}")).json()
    assert next(m for m in snapshot["messages"] if m["id"] == message_id)["body"] == "Buy now!"
    assert (await moderator.get("/api/flags")).json()["flagged"] == []
    again = await moderator.post(f"/api/flags/{message_id}/resolve", json={"action": "hide"})
    assert again.status_code in (400, 404)
