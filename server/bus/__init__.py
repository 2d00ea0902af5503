"""The event bus: wakes server processes up when a stream has something new.

``EventBus`` is the contract both backends keep (``memory.MemoryBus``, the embedded default, and
``redis.RedisBus`` for several processes):

- ``start(deliver, reconnected)`` connects and starts one listener. Every payload published on a
  stream this process is subscribed to is handed to ``deliver(stream, payload)``, one call at a
  time, in the order it was published by each publisher. ``reconnected()`` is called after the
  connection to the broker was lost and has come back: anything published meanwhile was lost.
- ``stop()`` ends the listener and releases the connection. Idempotent.
- ``publish(stream, payloads)`` sends payloads in order. Delivery is **at most once**: it never
  raises because the broker is away; lost payloads are the consumer's to detect (events carry a
  gap-free ``seq``) and to fill from the database.
- ``subscribe(stream)`` / ``unsubscribe(stream)`` are idempotent and take effect before they return
  while the broker is reachable (and on reconnection otherwise). Payloads published after
  ``subscribe`` returns are delivered; none are delivered after ``unsubscribe`` returns.

Payloads are bytes (JSON); the bus never looks inside them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

Deliver = Callable[[str, bytes], Awaitable[None]]
Reconnected = Callable[[], Awaitable[None]]


class EventBus(Protocol):
    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, stream: str, payloads: Sequence[bytes]) -> None: ...

    async def subscribe(self, stream: str) -> None: ...

    async def unsubscribe(self, stream: str) -> None: ...


def build_bus(redis_url: str | None, *, prefix: str) -> EventBus:
    if redis_url:
        from server.bus.redis import RedisBus

        return RedisBus(redis_url, prefix=prefix)
    from server.bus.memory import MemoryBus

    return MemoryBus()
