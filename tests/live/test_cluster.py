"""Two server processes, one PostgreSQL, one Redis: events cross processes exactly once."""

from __future__ import annotations

import asyncio
import uuid

from server.services import accounts
from tests.live.conftest import ON_POSTGRES, Cluster, http_client
from tests.live.servers import LiveClient

pytestmark = ON_POSTGRES


async def _room_and_thread(cluster: Cluster, slug: str, visibility: str = "public") -> int:
    _, cookie = await cluster.user(role="moderator")
    async with http_client(cluster.servers[0], cookie) as client:
        room = await client.post(
            "/api/rooms", json={"slug": slug, "title": slug.title(), "visibility": visibility}
        )
        assert room.status_code == 201, room.text
        thread = await client.post(
            f"/api/rooms/{slug}/threads", json={"title": "T", "body": "first", "kind": "question"}
        )
        assert thread.status_code == 201, thread.text
        return int(thread.json()["thread"]["id"])


async def test_posts_on_b_reach_a_exactly_once_in_order(cluster: Cluster) -> None:
    a, b = cluster.servers
    thread_id = await _room_and_thread(cluster, "spectrum")
    reader_id, reader_cookie = await cluster.user()
    writer_id, writer_cookie = await cluster.user()

    reader = await LiveClient.open(a.ws, cookie=reader_cookie)
    subscribed = await reader.subscribe("room:spectrum")
    assert subscribed["type"] == "subscribed"
    head = subscribed["head"]

    writer = await LiveClient.open(b.ws, cookie=writer_cookie)
    assert (await writer.subscribe("room:spectrum"))["type"] == "subscribed"

    # Both see both in presence, each through its own process.
    for client, other in ((reader, writer_id), (writer, reader_id)):
        async with asyncio.timeout(10):
            while True:
                presence = await client.expect("presence", stream="room:spectrum")
                if {u["id"] for u in presence["users"]} == {reader_id, writer_id}:
                    break
        assert other in {u["id"] for u in presence["users"]}

    # Typing on B shows on A, to others only.
    await writer.send({"op": "typing", "thread": thread_id})
    typing = await reader.expect("typing", stream="room:spectrum")
    assert typing["thread"] == thread_id and typing["user"]["id"] == writer_id

    bodies = []
    async with http_client(b, writer_cookie) as client:
        for n in range(10):
            response = await client.post(
                f"/api/threads/{thread_id}/messages", json={"body": f"http {n}"}
            )
            assert response.status_code == 201
            bodies.append(f"http {n}")
            client_id = str(uuid.uuid4())
            await writer.send(
                {"op": "post", "thread": thread_id, "body": f"ws {n}", "client_id": client_id}
            )
            ack = await writer.expect("ack", client_id=client_id)
            assert ack["message"]["body"] == f"ws {n}"
            bodies.append(f"ws {n}")

    events = await reader.events_until("room:spectrum", head + 20)
    assert [e["seq"] for e in events] == list(range(head + 1, head + 21))
    assert [e["data"]["message"]["body"] for e in events] == bodies
    assert all(e["name"] == "message.created" for e in events)
    assert [f for f in await reader.quiet() if f["type"] == "event"] == []
    await reader.close()
    await writer.close()


async def test_resume_with_since_replays_exactly_what_was_missed(cluster: Cluster) -> None:
    a, b = cluster.servers
    thread_id = await _room_and_thread(cluster, "relief")
    _, cookie = await cluster.user()
    client = await LiveClient.open(a.ws, cookie=cookie)
    head = (await client.subscribe("room:relief"))["head"]
    await client.close()

    async with http_client(b, cookie) as http:
        for n in range(5):
            posted = await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"{n}"})
            assert posted.status_code == 201

    again = await LiveClient.open(b.ws, cookie=cookie)
    subscribed = await again.subscribe("room:relief", since=head)
    assert subscribed == {"type": "subscribed", "stream": "room:relief", "head": head + 5}
    events = await again.events_until("room:relief", head + 5)
    assert [e["seq"] for e in events] == [head + 1, head + 2, head + 3, head + 4, head + 5]
    assert [e["data"]["message"]["body"] for e in events] == ["0", "1", "2", "3", "4"]
    assert [f for f in await again.quiet() if f["type"] == "event"] == []

    # Further back than REPLAY_LIMIT (50 here): reset, and no replay.
    async with http_client(a, cookie) as http:
        for n in range(51):
            await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"more {n}"})
    late = await LiveClient.open(a.ws, cookie=cookie)
    reset = await late.subscribe("room:relief", since=head)
    assert reset == {"type": "reset", "stream": "room:relief", "head": head + 56}
    assert [f for f in await late.quiet() if f["type"] == "event"] == []
    resumed = await late.subscribe("room:relief", since=reset["head"])
    assert resumed["type"] == "subscribed"
    await again.close()
    await late.close()


async def test_streams_one_may_not_read_look_missing(cluster: Cluster) -> None:
    a, _ = cluster.servers
    await _room_and_thread(cluster, "inner", visibility="members")
    await _room_and_thread(cluster, "regulators", visibility="regulators")
    user_id, cookie = await cluster.user()
    anonymous = await LiveClient.open(a.ws)
    member = await LiveClient.open(a.ws, cookie=cookie)

    missing = await anonymous.subscribe("room:no-such-room")
    assert missing["type"] == "error" and missing["code"] == "not_found"
    for stream in ("room:inner", "room:regulators", f"user:{user_id}"):
        refused = await anonymous.subscribe(stream)
        assert {**refused, "message": None} == {**missing, "message": None}
        assert refused["message"] == missing["message"]
    assert (await member.subscribe("room:regulators"))["code"] == "not_found"
    assert (await member.subscribe(f"user:{user_id + 1}"))["code"] == "not_found"
    assert (await member.subscribe("room:inner"))["type"] == "subscribed"
    assert (await member.subscribe(f"user:{user_id}"))["type"] == "subscribed"
    assert (await member.subscribe("control"))["code"] == "not_found"
    await anonymous.close()
    await member.close()


async def test_logout_on_one_process_closes_the_sessions_sockets_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = cluster.servers
    await _room_and_thread(cluster, "consumer")
    _, cookie = await cluster.user()
    _, other_cookie = await cluster.user()
    mine = await LiveClient.open(a.ws, cookie=cookie)
    theirs = await LiveClient.open(a.ws, cookie=other_cookie)
    await mine.subscribe("room:consumer")
    await theirs.subscribe("room:consumer")

    async with http_client(b, cookie) as http:
        assert (await http.post("/api/auth/logout")).status_code == 204
    async with asyncio.timeout(10):
        await mine.connection.wait_closed()
    assert mine.connection.close_code == 1008
    assert (await theirs.quiet()) is not None  # the other session's socket is untouched
    await theirs.close()


async def test_disabling_an_account_closes_its_sockets_everywhere(cluster: Cluster) -> None:
    a, b = cluster.servers
    user_id, cookie = await cluster.user()
    on_a = await LiveClient.open(a.ws, cookie=cookie)
    on_b = await LiveClient.open(b.ws, cookie=cookie)
    assert await on_a.quiet() == [] and await on_b.quiet() == []
    # Compression is off unless configured: the server accepted no extension.
    assert on_a.connection.response is not None
    assert "Sec-WebSocket-Extensions" not in on_a.connection.response.headers

    await accounts.set_disabled(cluster.services, user_id=user_id, disabled=True)
    for client in (on_a, on_b):
        async with asyncio.timeout(10):
            await client.connection.wait_closed()
        assert client.connection.close_code == 1008
    async with http_client(a, cookie) as http:
        assert (await http.get("/api/me")).status_code == 401
