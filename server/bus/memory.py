"""In-process bus for the embedded default (one server process, no Redis)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from server.bus import Deliver, Reconnected


class MemoryBus:
    """Keeps the EventBus contract within one process. Publishing only queues: delivery runs in
    the listener task, so a publisher is never held up by slow consumers, as with Redis."""

    def __init__(self) -> None:
        self._subscribed: set[str] = set()
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._listener: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None:
        self._listener = asyncio.create_task(self._listen(deliver), name="memory-bus")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def publish(self, stream: str, payloads: Sequence[bytes]) -> None:
        for payload in payloads:
            self._queue.put_nowait((stream, payload))

    async def subscribe(self, stream: str) -> None:
        self._subscribed.add(stream)

    async def unsubscribe(self, stream: str) -> None:
        self._subscribed.discard(stream)

    async def _listen(self, deliver: Deliver) -> None:
        while True:
            stream, payload = await self._queue.get()
            # Checked at delivery, as Redis checks at publish: close enough in one process, and
            # never delivers after unsubscribe returned.
            if stream in self._subscribed:
                await deliver(stream, payload)
