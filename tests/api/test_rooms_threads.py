"""Rooms, threads and messages over HTTP: visibility, posting, edits, snapshots with head."""

from __future__ import annotations

import uuid

import httpx

from server.db.models import AuditEntry, Event, Message, MessageRevision, Room, Thread
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in


async def test_moderators_create_rooms_members_may_not(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    rooms_before = await count(services, Room)  # the theme rooms the migrations create
    room = await make_room(moderator, slug="spectrum", visibility="public")
    assert room == {
        **room,
        "slug": "spectrum",
        "visibility": "public",
        "theme": "spectrum",
        "archived": False,
        "stream": "room:spectrum",
    }

    member = await new_client()
    await signed_in(member, services)
    refused = await member.post(
        "/api/rooms", json={"slug": "mine", "title": "Mine", "theme": "other"}
    )
    assert refused.status_code == 403
    anonymous = await new_client()
    assert (
        await anonymous.post("/api/rooms", json={"slug": "anon", "title": "A"})
    ).status_code == 403
    assert await count(services, Room) == rooms_before + 1

    duplicate = await moderator.post("/api/rooms", json={"slug": "spectrum", "title": "Again"})
    assert duplicate.status_code == 409
    bad_slug = await moderator.post("/api/rooms", json={"slug": "Not A Slug", "title": "x"})
    assert bad_slug.status_code == 400 and "slug" in bad_slug.json()["error"]["fields"]
    bad_theme = await moderator.post("/api/rooms", json={"slug": "x", "title": "x", "theme": "y"})
    assert bad_theme.status_code == 400 and "theme" in bad_theme.json()["error"]["fields"]
    assert await count(services, Room) == rooms_before + 1
    async with services.read() as session:
        from sqlmodel import select

        entries = (await session.exec(select(AuditEntry))).all()
    assert [(e.action, e.target_id) for e in entries] == [("room.create", "spectrum")]


async def test_room_edit_and_archive_by_moderator(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="relief")
    thread = await make_thread(moderator, slug="relief")

    edited = await moderator.patch(
        "/api/rooms/relief", json={"title": "Regulatory relief", "archived": True}
    )
    assert edited.status_code == 200
    assert edited.json()["room"]["title"] == "Regulatory relief"
    assert edited.json()["room"]["archived"] is True
    refused = await moderator.post(
        f"/api/threads/{thread['id']}/messages", json={"body": "after archive"}
    )
    assert refused.status_code == 403

    member = await new_client()
    await signed_in(member, services)
    assert (await member.patch("/api/rooms/relief", json={"title": "x"})).status_code == 403
    events = (await member.get("/api/streams/room:relief/events")).json()["events"]
    assert [e["name"] for e in events] == ["room.updated", "thread.created", "room.updated"]


async def test_visibility_rules_for_reading_and_posting(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    for slug, visibility in (("open", "public"), ("inner", "members"), ("reg", "regulators")):
        await make_room(moderator, slug=slug, visibility=visibility)
        await make_thread(moderator, slug=slug)

    anonymous = await new_client()
    member = await new_client()
    await signed_in(member, services)
    regulator = await new_client()
    await signed_in(regulator, services, role="regulator")

    async def slugs(client: httpx.AsyncClient) -> set[str]:
        listed = (await client.get("/api/rooms")).json()["rooms"]
        # Leave out the public theme rooms the migrations create.
        return {room["slug"] for room in listed if not room["slug"].endswith("-measures")}

    assert await slugs(anonymous) == {"open"}
    assert await slugs(member) == {"open", "inner"}
    assert await slugs(regulator) == {"open", "inner", "reg"}

    assert (await anonymous.get("/api/rooms/open/threads")).status_code == 200
    assert (await anonymous.get("/api/rooms/inner/threads")).status_code == 404
    posted = await anonymous.post(
        "/api/rooms/open/threads", json={"title": "t", "body": "b", "kind": "discussion"}
    )
    assert posted.status_code == 401
    assert (await regulator.get("/api/rooms/reg")).status_code == 200


async def test_member_in_regulators_room_gets_the_same_404_as_a_missing_room(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="regulators-only", visibility="regulators")
    thread = await make_thread(moderator, slug="regulators-only")
    member = await new_client()
    await signed_in(member, services)
    threads_before = await count(services, Thread)
    messages_before = await count(services, Message)

    hidden = await member.get("/api/rooms/regulators-only")
    missing = await member.get("/api/rooms/no-such-room")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()

    hidden_threads = await member.get("/api/rooms/regulators-only/threads")
    missing_threads = await member.get("/api/rooms/no-such-room/threads")
    assert hidden_threads.status_code == missing_threads.status_code == 404
    assert hidden_threads.json() == missing_threads.json()

    new_thread = {"title": "Sneaky", "body": "let me in", "kind": "discussion"}
    hidden_post = await member.post("/api/rooms/regulators-only/threads", json=new_thread)
    missing_post = await member.post("/api/rooms/no-such-room/threads", json=new_thread)
    assert hidden_post.status_code == missing_post.status_code == 404
    assert hidden_post.json() == missing_post.json()

    hidden_thread = await member.get(f"/api/threads/{thread['id']}")
    missing_thread = await member.get("/api/threads/999999")
    assert hidden_thread.status_code == missing_thread.status_code == 404
    assert hidden_thread.json() == missing_thread.json()
    reply = await member.post(f"/api/threads/{thread['id']}/messages", json={"body": "hello"})
    missing_reply = await member.post("/api/threads/999999/messages", json={"body": "hello"})
    assert reply.status_code == missing_reply.status_code == 404
    assert reply.json() == missing_reply.json()

    events = await member.get("/api/streams/room:regulators-only/events")
    missing_events = await member.get("/api/streams/room:no-such-room/events")
    assert events.status_code == missing_events.status_code == 404
    assert events.json() == missing_events.json()

    assert await count(services, Thread) == threads_before
    assert await count(services, Message) == messages_before


async def test_thread_snapshot_carries_head_and_messages_in_order(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="spectrum")
    created = await moderator.post(
        "/api/rooms/spectrum/threads",
        json={
            "title": "Temporary 600 MHz assignments",
            "body": "Who has granted **temporary** spectrum?",
            "kind": "question",
            "countries": ["us", "CA"],
        },
    )
    assert created.status_code == 201
    thread = created.json()["thread"]
    assert thread["kind"] == "question" and thread["countries"] == ["US", "CA"]
    first_seq = created.json()["seq"]

    member = await new_client()
    await signed_in(member, services)
    seqs = [first_seq]
    for n in range(3):
        reply = await member.post(
            f"/api/threads/{thread['id']}/messages", json={"body": f"reply {n}"}
        )
        assert reply.status_code == 201
        seqs.append(reply.json()["seq"])
    assert seqs == list(range(seqs[0], seqs[0] + 4))

    snapshot = (await member.get(f"/api/threads/{thread['id']}")).json()
    assert snapshot["head"] == seqs[-1]
    assert [m["body"] for m in snapshot["messages"]] == [
        "Who has granted **temporary** spectrum?",
        "reply 0",
        "reply 1",
        "reply 2",
    ]
    assert snapshot["messages"][0]["html"] == (
        "<p>Who has granted <strong>temporary</strong> spectrum?</p>\n"
    )
    assert snapshot["pinned"] is None
    assert snapshot["thread"]["message_count"] == 4

    page = (await member.get(f"/api/threads/{thread['id']}?limit=3")).json()
    assert len(page["messages"]) == 3 and page["cursor"]
    rest = (await member.get(f"/api/threads/{thread['id']}?limit=3&cursor={page['cursor']}")).json()
    assert [m["body"] for m in rest["messages"]] == ["reply 2"] and rest["cursor"] is None

    listing = (await member.get("/api/rooms/spectrum/threads")).json()
    assert listing["head"] == seqs[-1]
    assert [t["id"] for t in listing["threads"]] == [thread["id"]]

    # A thread tagged with countries in a public room also lands on those countries' streams.
    country = (await member.get("/api/streams/country:CA/events")).json()
    assert [e["name"] for e in country["events"]] == ["thread.created"]


async def test_thread_list_pages_by_last_activity(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="broadband")
    ids = [(await make_thread(moderator, slug="broadband", title=f"T{n}"))["id"] for n in range(5)]
    # Activity in the oldest thread brings it to the top.
    await moderator.post(f"/api/threads/{ids[0]}/messages", json={"body": "bump"})
    seen: list[int] = []
    cursor = ""
    while True:
        page = (await moderator.get(f"/api/rooms/broadband/threads?limit=2{cursor}")).json()
        seen += [t["id"] for t in page["threads"]]
        if not page["cursor"]:
            break
        cursor = f"&cursor={page['cursor']}"
    assert seen == [ids[0], ids[4], ids[3], ids[2], ids[1]]

    tampered = await moderator.get("/api/rooms/broadband/threads?cursor=AAAA" + "x" * 30)
    assert tampered.status_code == 400
    assert "cursor" in tampered.json()["error"]["fields"]


async def test_message_bodies_empty_or_too_long_are_400_and_store_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="consumer")
    thread = await make_thread(client, slug="consumer")
    before = (await count(services, Message), await count(services, Event))
    for body in ("", "   \n\t ", "x" * 10_001):
        response = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": body})
        assert response.status_code == 400
        assert "body" in response.json()["error"]["fields"]
    wrong_type = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": 5})
    assert wrong_type.status_code == 400
    empty_thread = await client.post(
        "/api/rooms/consumer/threads", json={"title": "x", "body": "", "kind": "discussion"}
    )
    assert empty_thread.status_code == 400
    bad_kind = await client.post(
        "/api/rooms/consumer/threads", json={"title": "x", "body": "y", "kind": "poll"}
    )
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["error"]["fields"]
    assert (await count(services, Message), await count(services, Event)) == before

    longest = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"body": "y" * 10_000}
    )
    assert longest.status_code == 201


async def test_posting_twice_with_one_client_id_stores_one_message(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="affordability")
    thread = await make_thread(client, slug="affordability")
    client_id = str(uuid.uuid4())
    first = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"body": "once", "client_id": client_id}
    )
    again = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"body": "once", "client_id": client_id}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert await count(services, Message) == 2  # the thread's first message and this one


async def test_edit_keeps_history_and_only_the_author_may_edit(
    new_client: ClientFactory, services: Services
) -> None:
    author = await new_client()
    await signed_in(author, services, role="moderator")
    await make_room(author, slug="emergency")
    thread = await make_thread(author, slug="emergency")
    posted = (
        await author.post(f"/api/threads/{thread['id']}/messages", json={"body": "first *draft*"})
    ).json()
    message_id = posted["message"]["id"]

    edited = await author.patch(f"/api/messages/{message_id}", json={"body": "second draft"})
    assert edited.status_code == 200
    assert edited.json()["message"]["body"] == "second draft"
    assert edited.json()["message"]["edited_at"] is not None
    await author.patch(f"/api/messages/{message_id}", json={"body": "final"})

    other = await new_client()
    await signed_in(other, services)
    refused = await other.patch(f"/api/messages/{message_id}", json={"body": "hijacked"})
    assert refused.status_code == 403
    history = (await other.get(f"/api/messages/{message_id}/history")).json()["history"]
    assert [h["body"] for h in history] == ["first *draft*", "second draft"]
    assert history[0]["html"] == "<p>first <em>draft</em></p>\n"
    assert await count(services, MessageRevision) == 2

    events = (await other.get(f"/api/streams/room:emergency/events?after={posted['seq']}")).json()
    assert [e["name"] for e in events["events"]] == ["message.edited", "message.edited"]
    assert events["events"][-1]["data"]["message"]["body"] == "final"
