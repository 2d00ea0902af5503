"""Catch-up over HTTP: GET /api/streams/{stream}/events."""

from __future__ import annotations

from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import make_room, make_thread, signed_in


async def test_events_after_and_limit(new_client: ClientFactory, services: Services) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="spectrum")
    thread = await make_thread(client, slug="spectrum")
    for n in range(5):
        await client.post(f"/api/threads/{thread['id']}/messages", json={"body": f"m{n}"})

    everything = (await client.get("/api/streams/room:spectrum/events")).json()
    assert everything["head"] == 7
    assert [e["seq"] for e in everything["events"]] == list(range(1, 8))
    event = everything["events"][2]
    assert set(event) == {"type", "stream", "seq", "name", "data", "at"}
    assert event["type"] == "event" and event["stream"] == "room:spectrum"
    assert event["name"] == "message.created" and event["data"]["message"]["body"] == "m0"
    assert event["at"].endswith("Z")

    page = (await client.get("/api/streams/room:spectrum/events?after=3&limit=2")).json()
    assert [e["seq"] for e in page["events"]] == [4, 5]
    assert page["head"] == 7

    anonymous = await new_client()
    public = await anonymous.get("/api/streams/room:spectrum/events?after=6")
    assert [e["seq"] for e in public.json()["events"]] == [7]


async def test_bad_parameters_and_unknown_streams(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    user = await signed_in(client, services)
    for query in ("after=-1", "after=x", "limit=0", "limit=100000"):
        response = await client.get(f"/api/streams/room:spectrum/events?{query}")
        assert response.status_code == 400, query
    for stream in ("room:NOPE", "bogus", "country:usa", "user:0", "room:missing"):
        assert (await client.get(f"/api/streams/{stream}/events")).status_code == 404, stream
    assert (await client.get("/api/streams/country:KE/events")).json()["events"] == []
    assert (await client.get("/api/streams/initiatives/events")).status_code == 200
    assert (await client.get(f"/api/streams/user:{user.id}/events")).status_code == 200


async def test_a_user_stream_is_readable_only_by_its_user(
    new_client: ClientFactory, services: Services
) -> None:
    owner = await new_client()
    user = await signed_in(owner, services)
    other = await new_client()
    await signed_in(other, services, role="admin")
    anonymous = await new_client()
    mine = await owner.get(f"/api/streams/user:{user.id}/events")
    theirs = await other.get(f"/api/streams/user:{user.id}/events")
    nobody = await anonymous.get(f"/api/streams/user:{user.id}/events")
    missing = await other.get("/api/streams/room:none/events")
    assert mine.status_code == 200
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json() == nobody.json() == missing.json()
