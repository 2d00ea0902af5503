"""One contract suite for every EventBus backend (see the contract on server.bus.EventBus)."""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from server.bus import EventBus
from server.bus.memory import MemoryBus
from server.bus.redis import RedisBus


@dataclass
class Received:
    payloads: list[tuple[str, bytes]] = field(default_factory=list)
    reconnects: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, stream: str, payload: bytes) -> None:
        self.payloads.append((stream, payload))
        self.arrived.set()

    async def reconnected(self) -> None:
        self.reconnects += 1

    async def wait_for(self, count: int) -> list[tuple[str, bytes]]:
        async with asyncio.timeout(10):
            while len(self.payloads) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.payloads


def _redis_url() -> str:
    return os.environ.get("GNRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


Running = tuple[EventBus, Received]


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    instance: EventBus
    if request.param == "memory":
        instance = MemoryBus()
    else:  # keys under a fresh prefix: no other test's channels
        instance = RedisBus(_redis_url(), prefix=f"gnrp-test-{uuid.uuid4().hex[:8]}:")
    received = Received()
    await instance.start(received.deliver, received.reconnected)
    yield instance, received
    await instance.stop()


async def test_subscribed_streams_get_payloads_in_publish_order(bus: Running) -> None:
    instance, received = bus
    await instance.subscribe("room:a")
    await instance.publish("room:a", [b"1", b"2", b"3"])
    await instance.publish("room:a", [b"4"])
    assert await received.wait_for(4) == [("room:a", p) for p in (b"1", b"2", b"3", b"4")]


async def test_unsubscribed_streams_get_nothing(bus: Running) -> None:
    instance, received = bus
    await instance.subscribe("room:a")
    await instance.subscribe("room:b")
    await instance.unsubscribe("room:b")
    await instance.publish("room:b", [b"not for us"])
    await instance.publish("room:c", [b"nor this"])
    await instance.publish("room:a", [b"marker"])
    assert await received.wait_for(1) == [("room:a", b"marker")]


async def test_subscribe_and_unsubscribe_are_idempotent(bus: Running) -> None:
    instance, received = bus
    await instance.subscribe("room:a")
    await instance.subscribe("room:a")
    await instance.unsubscribe("room:z")
    await instance.publish("room:a", [b"once"])
    await instance.publish("room:a", [b"marker"])
    assert await received.wait_for(2) == [("room:a", b"once"), ("room:a", b"marker")]
    await instance.unsubscribe("room:a")
    await instance.unsubscribe("room:a")


async def test_publish_of_nothing_is_fine_and_stop_is_idempotent(bus: Running) -> None:
    instance, _ = bus
    await instance.publish("room:a", [])
    await instance.stop()
    await instance.stop()


async def test_redis_delivers_across_processes_and_survives_an_unreachable_broker() -> None:
    prefix = f"gnrp-test-{uuid.uuid4().hex[:8]}:"
    publisher, subscriber = (
        RedisBus(_redis_url(), prefix=prefix),
        RedisBus(_redis_url(), prefix=prefix),
    )
    received, ignored = Received(), Received()
    await subscriber.start(received.deliver, received.reconnected)
    await publisher.start(ignored.deliver, ignored.reconnected)
    try:
        await subscriber.subscribe("room:x")
        await publisher.publish("room:x", [b"hello"])
        assert await received.wait_for(1) == [("room:x", b"hello")]
    finally:
        await publisher.stop()
        await subscriber.stop()

    # Publishing to a broker that is not there does not raise: delivery is at most once.
    nowhere = RedisBus("redis://127.0.0.1:1/0", prefix=prefix)
    await nowhere.start(ignored.deliver, ignored.reconnected)
    await nowhere.publish("room:x", [b"lost"])
    await nowhere.subscribe("room:x")
    await nowhere.stop()


def test_both_backends_expose_exactly_the_protocol() -> None:
    def public_methods(kind: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in inspect.getmembers(kind, inspect.isfunction)
            if not name.startswith("_")
        }

    protocol = public_methods(EventBus)  # type: ignore[type-abstract]
    assert set(protocol) == {"start", "stop", "publish", "subscribe", "unsubscribe"}
    for backend in (MemoryBus, RedisBus):
        methods = public_methods(backend)
        assert set(methods) == set(protocol), backend
        for name, signature in protocol.items():
            assert list(methods[name].parameters) == list(signature.parameters), (backend, name)
            assert inspect.iscoroutinefunction(getattr(backend, name)), (backend, name)
