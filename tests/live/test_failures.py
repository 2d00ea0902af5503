"""Failures the live layer must ride out: Redis restarting, a process killed, a reader stalled."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed

from tests.live.conftest import ON_POSTGRES, Cluster, http_client
from tests.live.servers import LiveClient, RedisServer

pytestmark = ON_POSTGRES


async def _thread(cluster: Cluster, slug: str) -> tuple[int, str]:
    _, cookie = await cluster.user(role="moderator")
    async with http_client(cluster.servers[0], cookie) as client:
        await client.post("/api/rooms", json={"slug": slug, "title": slug})
        thread = await client.post(
            f"/api/rooms/{slug}/threads", json={"title": "T", "body": "first", "kind": "question"}
        )
        return int(thread.json()["thread"]["id"]), cookie


def _assert_exactly_once_in_order(events: list[dict[str, Any]], first: int, last: int) -> None:
    assert [e["seq"] for e in events] == list(range(first, last + 1))


async def test_redis_restarted_mid_stream_loses_nothing(
    restartable_cluster: Cluster, redis_server: RedisServer
) -> None:
    cluster = restartable_cluster
    a, b = cluster.servers
    thread_id, cookie = await _thread(cluster, "restart")
    clients = []
    for server in (a, a, b, b):
        client = await LiveClient.open(server.ws, cookie=cookie)
        clients.append((client, (await client.subscribe("room:restart"))["head"]))
    start = clients[0][1]
    assert all(head == start for _, head in clients)

    seqs = []
    async with http_client(a, cookie) as to_a, http_client(b, cookie) as to_b:
        for n in range(200):
            if n == 50:
                redis_server.stop()
                restart = asyncio.get_running_loop().call_later(1.0, redis_server.start)
            http = to_a if n % 2 else to_b
            posted = await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"{n}"})
            assert posted.status_code == 201, posted.text  # writes go on while Redis is away
            seqs.append(posted.json()["seq"])
            await asyncio.sleep(0.05)  # 20 posts a second
    restart.cancel()
    assert seqs == list(range(start + 1, start + 201))
    for client, _ in clients:
        events = await client.events_until("room:restart", start + 200, deadline=60)
        _assert_exactly_once_in_order(events, start + 1, start + 200)
        assert [e for e in await client.quiet() if e["type"] == "event"] == []
        await client.close()


async def test_clients_of_a_killed_process_resume_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.servers
    thread_id, cookie = await _thread(cluster, "killed")
    _, watcher_cookie = await cluster.user()
    on_a = await LiveClient.open(a.ws, cookie=cookie)
    head = (await on_a.subscribe("room:killed"))["head"]
    watcher = await LiveClient.open(b.ws, cookie=watcher_cookie)
    await watcher.subscribe("room:killed")

    async with http_client(b, cookie) as http:
        for n in range(5):
            await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"before {n}"})
        received = await on_a.events_until("room:killed", head + 5)
        last_seen = received[-1]["seq"]

        a.kill()  # SIGKILL: no goodbye, no 1012
        for n in range(5):
            await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"during {n}"})

        resumed = await LiveClient.open(b.ws, cookie=cookie)
        assert (await resumed.subscribe("room:killed", since=last_seen))["type"] == "subscribed"
        for n in range(5):
            await http.post(f"/api/threads/{thread_id}/messages", json={"body": f"after {n}"})
    events = await resumed.events_until("room:killed", head + 15)
    _assert_exactly_once_in_order(events, last_seen + 1, head + 15)
    bodies = [e["data"]["message"]["body"] for e in received + events]
    assert bodies == [f"{when} {n}" for when in ("before", "during", "after") for n in range(5)]

    # The killed process's user leaves presence once its entry expires (4 s in these tests).
    async with asyncio.timeout(30):
        while True:
            presence = await watcher.expect("presence", deadline=30)
            if len(presence["users"]) == 2:  # the watcher and the resumed client, on B
                break
    await resumed.close()
    await watcher.close()


async def test_a_reader_that_never_reads_is_closed_with_1013(cluster: Cluster) -> None:
    a, _ = cluster.servers
    _, cookie = await _thread(cluster, "stalled")
    # A tiny receive buffer, and a client that stops reading: the server's queue is what fills.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", a.port))
    stalled = await LiveClient.open(a.ws, cookie=cookie, sock=raw, max_queue=1)
    await stalled.subscribe("room:stalled")
    healthy = await LiveClient.open(a.ws, cookie=cookie)
    head = (await healthy.subscribe("room:stalled"))["head"]
    rss_before = psutil.Process(a.pid).memory_info().rss

    # 5,000 events of ~2 KB, written straight to the database by another "process" (this one)
    # in batches and announced on Redis, as a busy cluster would.
    padding = "regulatory relief " * 110
    receiving = asyncio.create_task(healthy.events_until("room:stalled", head + 5000, 120))
    for batch in range(100):
        async with cluster.services.write() as tx:
            for n in range(50):
                body = f"{batch * 50 + n} {padding}"
                await tx.emit("room:stalled", "message.created", {"message": {"body": body}})
    events = await receiving
    _assert_exactly_once_in_order(events, head + 1, head + 5000)

    # The server gave up on the stalled socket instead of buffering for it: its subscription is
    # gone at once, and once the client reads again it finds the close frame, code 1013, after
    # far fewer than the 5,000 events.
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{a.http}/metrics")).text
    assert "gnrp_ws_queue_overflows_total 1.0" in metrics, metrics
    assert "gnrp_ws_subscriptions 1.0" in metrics  # only the healthy socket's
    received = 0
    with pytest.raises(ConnectionClosed):
        while True:
            frame = await stalled.recv(deadline=30)
            received += frame["type"] == "event"
    assert stalled.connection.close_code == 1013
    assert received < 2500
    growth = psutil.Process(a.pid).memory_info().rss - rss_before
    assert growth < 64 * 1024 * 1024, f"server grew by {growth / 1e6:.1f} MB"
    await healthy.close()
