"""Pinned answers, hide and restore: who may, what others see, what is recorded."""

from __future__ import annotations

from typing import Any

import httpx

from server.db.models import AuditEntry, Event
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in


async def _thread_with_replies(
    new_client: ClientFactory, services: Services
) -> tuple[httpx.AsyncClient, httpx.AsyncClient, dict[str, Any], list[int]]:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="questions")
    thread = await make_thread(moderator, slug="questions")
    author = await new_client()
    await signed_in(author, services)
    ids = []
    for body in ("First answer", "Better answer"):
        posted = await author.post(f"/api/threads/{thread['id']}/messages", json={"body": body})
        ids.append(posted.json()["message"]["id"])
    return moderator, author, thread, ids


async def test_moderators_pin_replace_and_unpin_the_answer(
    new_client: ClientFactory, services: Services
) -> None:
    moderator, author, thread, (first, better) = await _thread_with_replies(new_client, services)
    path = f"/api/threads/{thread['id']}/pin"
    before = (await count(services, AuditEntry), await count(services, Event))
    assert (await author.put(path, json={"message_id": first})).status_code == 403
    other = await make_thread(moderator, slug="questions", title="Another")
    elsewhere = (await moderator.get(f"/api/threads/{other['id']}")).json()["messages"][0]["id"]
    wrong = await moderator.put(path, json={"message_id": elsewhere})
    assert wrong.status_code == 400 and "message_id" in wrong.json()["error"]["fields"]
    assert (await count(services, AuditEntry), await count(services, Event)) == (
        before[0],
        before[1] + 1,  # only the other thread's creation
    )

    assert (await moderator.put(path, json={"message_id": first})).status_code == 200
    assert (await moderator.put(path, json={"message_id": better})).status_code == 200
    snapshot = (await author.get(f"/api/threads/{thread['id']}")).json()
    assert snapshot["pinned"]["id"] == better and snapshot["thread"]["answered"] is True
    listing = (await author.get("/api/rooms/questions/threads")).json()["threads"]
    assert next(t for t in listing if t["id"] == thread["id"])["answered"] is True

    assert (await moderator.delete(path)).status_code == 204
    assert (await moderator.delete(path)).status_code == 404
    assert (await author.get(f"/api/threads/{thread['id']}")).json()["pinned"] is None
    events = (await author.get("/api/streams/room:questions/events")).json()["events"]
    assert [e["name"] for e in events][-3:] == [
        "thread.answer_pinned", "thread.answer_pinned", "thread.answer_unpinned",
    ]  # fmt: skip
    actions = (await moderator.get("/api/audit")).json()["entries"]
    assert [a["action"] for a in actions][:3] == ["answer.unpin", "answer.pin", "answer.pin"]


async def test_hidden_messages_show_a_placeholder_to_others(
    new_client: ClientFactory, services: Services
) -> None:
    moderator, author, thread, (first, _better) = await _thread_with_replies(new_client, services)
    await moderator.put(f"/api/threads/{thread['id']}/pin", json={"message_id": first})
    reader = await new_client()
    await signed_in(reader, services)

    no_reason = await moderator.post(f"/api/messages/{first}/hide", json={"reason": "  "})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    assert (
        await author.post(f"/api/messages/{first}/hide", json={"reason": "x"})
    ).status_code == 403
    hidden = await moderator.post(f"/api/messages/{first}/hide", json={"reason": "off-topic"})
    assert hidden.status_code == 200

    def shown(snapshot: dict[str, Any]) -> dict[str, Any]:
        return next(m for m in snapshot["messages"] if m["id"] == first)

    for client, sees_body in ((reader, False), (author, True), (moderator, True)):
        snapshot = (await client.get(f"/api/threads/{thread['id']}")).json()
        message = shown(snapshot)
        assert message["hidden"] is True
        assert (message["body"] == "First answer") is sees_body
        assert snapshot["pinned"] is None  # a hidden message is no longer the answer
    assert "First answer" not in (await reader.get(f"/api/threads/{thread['id']}")).text
    events = (await reader.get("/api/streams/room:questions/events")).json()["events"]
    assert events[-1]["name"] == "message.hidden"
    assert "First answer" not in str(events[-1])
    assert (await reader.get(f"/api/messages/{first}/history")).json()["history"] == []

    restored = await moderator.post(
        f"/api/messages/{first}/restore", json={"reason": "on reflection"}
    )
    assert restored.status_code == 200
    assert (
        shown((await reader.get(f"/api/threads/{thread['id']}")).json())["body"] == "First answer"
    )
    actions = [a["action"] for a in (await moderator.get("/api/audit")).json()["entries"]]
    assert actions[:3] == ["message.restore", "message.hide", "answer.unpin"]
