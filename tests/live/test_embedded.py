"""The live protocol on the embedded default: one process, SQLite, the in-memory bus."""

from __future__ import annotations

import pytest

from tests.live.conftest import Cluster, http_client
from tests.live.servers import LiveClient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_live_room_on_sqlite_without_redis(embedded: Cluster) -> None:
    (server,) = embedded.servers
    moderator_id, cookie = await embedded.user(role="moderator")
    member_id, member_cookie = await embedded.user()
    async with http_client(server, cookie) as http:
        await http.post("/api/rooms", json={"slug": "embedded", "title": "Embedded"})
        created = await http.post(
            "/api/rooms/embedded/threads", json={"title": "T", "body": "b", "kind": "discussion"}
        )
        thread_id = created.json()["thread"]["id"]

    watcher = await LiveClient.open(server.ws, cookie=member_cookie)
    head = (await watcher.subscribe("room:embedded"))["head"]
    poster = await LiveClient.open(server.ws, cookie=cookie)
    await poster.subscribe("room:embedded")
    while True:
        presence = await watcher.expect("presence")
        if {u["id"] for u in presence["users"]} == {moderator_id, member_id}:
            break

    await poster.send({"op": "typing", "thread": thread_id})
    assert (await watcher.expect("typing"))["user"]["id"] == moderator_id
    await poster.send({"op": "post", "thread": thread_id, "body": "over ws", "client_id": "e1"})
    ack = await poster.expect("ack")
    event = await watcher.expect("event")
    assert event["seq"] == ack["seq"] == head + 1
    assert event["data"]["message"]["body"] == "over ws"

    await watcher.close()
    async with http_client(server, cookie) as http:
        for n in range(3):
            await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"{n}"})
    back = await LiveClient.open(server.ws, cookie=member_cookie)
    await back.subscribe("room:embedded", since=head + 1)
    events = await back.events_until("room:embedded", head + 4)
    assert [e["seq"] for e in events] == [head + 2, head + 3, head + 4]
    await back.close()
    await poster.close()
