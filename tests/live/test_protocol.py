"""The /ws handshake and frames over a real uvicorn: origins, limits, bad frames, shutdown."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.db.models import Message
from tests.helpers import count
from tests.live.conftest import ON_POSTGRES, Cluster, http_client
from tests.live.servers import SITE, LiveClient

pytestmark = ON_POSTGRES


async def _thread(cluster: Cluster, slug: str) -> int:
    _, cookie = await cluster.user(role="moderator")
    async with http_client(cluster.servers[0], cookie) as client:
        await client.post("/api/rooms", json={"slug": slug, "title": slug})
        thread = await client.post(
            f"/api/rooms/{slug}/threads", json={"title": "T", "body": "first", "kind": "question"}
        )
        return int(thread.json()["thread"]["id"])


async def _refused_status(url: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, **kwargs):  # type: ignore[arg-type]
            pass
    return refused.value.response.status_code


async def test_origin_allow_list_is_checked_before_accept(cluster: Cluster) -> None:
    a, _ = cluster.servers
    _, cookie = await cluster.user()
    with_cookie = {"additional_headers": {"Cookie": f"gnrp_session={cookie}"}}
    assert await _refused_status(a.ws, origin="https://evil.example", **with_cookie) == 403
    assert await _refused_status(a.ws, origin="null", **with_cookie) == 403
    assert await _refused_status(a.ws, origin="http://gnrp.test.evil.example") == 403
    assert await _refused_status(a.ws, **with_cookie) == 403  # no Origin, with a cookie
    assert await _refused_status(a.ws) == 403  # no Origin, anonymous

    # A script with a bearer token may omit Origin; a bad token is refused with 401.
    async with http_client(a, cookie) as http:
        secret = (await http.post("/api/tokens", json={"name": "bot"})).json()["token"]["secret"]
    async with connect(a.ws, additional_headers={"Authorization": f"Bearer {secret}"}) as ws:
        await ws.send('{"op": "ping"}')
        assert orjson.loads(await ws.recv()) == {"type": "pong"}
    bad = {"additional_headers": {"Authorization": "Bearer gnrp_forged"}}
    assert await _refused_status(a.ws, **bad) == 401
    # The site's own origin is accepted.
    async with connect(a.ws, origin=SITE, **with_cookie) as ws:  # type: ignore[arg-type]
        await ws.send('{"op": "ping"}')
        assert orjson.loads(await ws.recv()) == {"type": "pong"}


async def test_frame_over_64_kib_closes_with_1009(cluster: Cluster) -> None:
    client = await LiveClient.open(cluster.servers[0].ws)
    await client.send({"op": "ping", "padding": "x" * (100 * 1024)})
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert client.connection.close_code == 1009


async def test_bad_frames_get_invalid_and_the_socket_stays_usable(cluster: Cluster) -> None:
    thread_id = await _thread(cluster, "frames")
    _, cookie = await cluster.user()
    client = await LiveClient.open(cluster.servers[0].ws, cookie=cookie)
    before = await count(cluster.services, Message)
    bad_frames = [
        "not json at all",
        "[1, 2, 3]",
        '{"op": "dance"}',
        '{"no_op": true}',
        '{"op": "subscribe", "stream": 42}',
        '{"op": "subscribe", "stream": "room:frames", "since": "ten"}',
        '{"op": "subscribe", "stream": "room:frames", "since": -1}',
        '{"op": "post", "thread": "' + str(thread_id) + '", "body": "x", "client_id": "a"}',
        '{"op": "post", "thread": ' + str(thread_id) + ', "body": "x"}',
        '{"op": "post", "thread": ' + str(thread_id) + ', "body": "", "client_id": "b"}',
        '{"op": "post", "thread": ' + str(thread_id) + ', "body": "x", "client_id": "c", "x": 1}',
    ]
    for text in bad_frames:
        await client.connection.send(text)
        reply = await client.expect("error")
        assert reply["code"] == "invalid", (text, reply)
    assert (await client.subscribe("room:frames"))["type"] == "subscribed"
    assert await count(cluster.services, Message) == before
    await client.close()


async def test_a_flood_over_the_rate_limit_is_refused_and_stores_nothing_more(
    cluster: Cluster,
) -> None:
    thread_id = await _thread(cluster, "flood")
    _, cookie = await cluster.user()
    client = await LiveClient.open(cluster.servers[0].ws, cookie=cookie)
    before = await count(cluster.services, Message)
    for n in range(100):  # far over the burst of 40 frames
        await client.send(
            {"op": "post", "thread": thread_id, "body": f"spam {n}", "client_id": f"c{n}"}
        )
    acks, limited = 0, 0
    while acks + limited < 100:
        frame = await client.recv()
        if frame["type"] == "ack":
            acks += 1
        elif frame["type"] == "error":
            assert frame["code"] == "rate_limited" and frame["op"] == "post"
            limited += 1
    assert limited > 0 and acks >= 40
    assert await count(cluster.services, Message) == before + acks
    await client.close()


async def test_metrics_count_sockets_and_deliveries(cluster: Cluster) -> None:
    a, _ = cluster.servers
    thread_id = await _thread(cluster, "metrics")
    _, cookie = await cluster.user()
    client = await LiveClient.open(a.ws, cookie=cookie)
    await client.subscribe("room:metrics")
    await client.send({"op": "post", "thread": thread_id, "body": "hi", "client_id": "m1"})
    await client.expect("event")
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{a.http}/metrics")).text
    assert "gnrp_ws_open_sockets 1.0" in text
    assert "gnrp_ws_subscriptions 1.0" in text
    assert "gnrp_events_delivered_total 1.0" in text
    assert "gnrp_publish_to_deliver_seconds_count 1.0" in text
    assert "gnrp_ws_queue_overflows_total 0.0" in text
    assert "gnrp_redis_reconnects_total" in text
    await client.close()


async def test_sockets_per_user_are_capped(cluster: Cluster) -> None:
    server = cluster.add_server("capped", WS_SOCKETS_PER_USER="2")
    _, cookie = await cluster.user()
    first = await LiveClient.open(server.ws, cookie=cookie)
    second = await LiveClient.open(server.ws, cookie=cookie)
    with_cookie = {"additional_headers": {"Cookie": f"gnrp_session={cookie}"}}
    assert await _refused_status(server.ws, origin=SITE, **with_cookie) == 429
    await first.close()
    async with asyncio.timeout(10):
        while True:  # the slot frees once the server has seen the close
            try:
                third = await LiveClient.open(server.ws, cookie=cookie)
                break
            except InvalidStatus:
                await asyncio.sleep(0.05)
    await second.close()
    await third.close()


async def test_graceful_shutdown_closes_sockets_with_1012(cluster: Cluster) -> None:
    server = cluster.add_server("leaving")
    client = await LiveClient.open(server.ws)
    assert (await client.quiet()) == []
    stopping = asyncio.create_task(asyncio.to_thread(server.terminate))
    async with asyncio.timeout(15):
        await client.connection.wait_closed()
    assert client.connection.close_code == 1012
    # uvicorn finishes its graceful shutdown, then exits by the signal it was sent.
    assert await stopping in (0, -15)


async def test_post_is_idempotent_per_client_id(cluster: Cluster) -> None:
    thread_id = await _thread(cluster, "idem")
    _, cookie = await cluster.user()
    a, b = cluster.servers
    client_id = str(uuid.uuid4())
    first = await LiveClient.open(a.ws, cookie=cookie)
    second = await LiveClient.open(b.ws, cookie=cookie)
    frame = {"op": "post", "thread": thread_id, "body": "once", "client_id": client_id}
    before = await count(cluster.services, Message)
    await first.send(frame)
    await second.send(frame)
    ack_a = await first.expect("ack")
    ack_b = await second.expect("ack")
    assert ack_a["message"]["id"] == ack_b["message"]["id"] and ack_a["seq"] == ack_b["seq"]
    assert await count(cluster.services, Message) == before + 1
    await first.close()
    await second.close()


async def test_limits_hold_across_two_server_processes(cluster: Cluster) -> None:
    """One account on two processes shares one budget of frames and of messages (Redis)."""
    first = cluster.add_server("limited-a", WS_FRAME_BURST="10", WS_FRAMES_PER_SECOND="1",
                               MESSAGES_PER_MINUTE="4")  # fmt: skip
    second = cluster.add_server("limited-b", WS_FRAME_BURST="10", WS_FRAMES_PER_SECOND="1",
                                MESSAGES_PER_MINUTE="4")  # fmt: skip
    thread_id = await _thread(cluster, "shared-limits")
    _, cookie = await cluster.user()
    on_first = await LiveClient.open(first.ws, cookie=cookie)
    on_second = await LiveClient.open(second.ws, cookie=cookie)
    for _ in range(8):  # 16 frames within the 10 s that earn 10
        await on_first.send({"op": "ping"})
        await on_second.send({"op": "ping"})
    replies = [await client.recv() for client in (on_first, on_second) for _ in range(8)]
    kinds = [reply["type"] for reply in replies]
    assert kinds.count("pong") == 10 and kinds.count("error") == 6
    await on_first.close()
    await on_second.close()

    before = await count(cluster.services, Message)
    statuses = []
    async with http_client(first, cookie) as to_first, http_client(second, cookie) as to_second:
        for n in range(6):
            client = to_first if n % 2 else to_second
            response = await client.post(
                f"/api/threads/{thread_id}/messages", json={"body": f"{n}"}
            )
            statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 201, 429, 429]
    assert await count(cluster.services, Message) == before + 4
