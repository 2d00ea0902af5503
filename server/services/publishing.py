"""Hands committed events to the bus, one batch per stream."""

from __future__ import annotations

from collections.abc import Sequence

from server.bus import EventBus
from server.services.context import Outgoing, Publisher


def bus_publisher(bus: EventBus) -> Publisher:
    async def publish(outgoing: Sequence[Outgoing]) -> None:
        by_stream: dict[str, list[bytes]] = {}
        for stream, payload in outgoing:
            by_stream.setdefault(stream, []).append(payload)
        for stream, payloads in by_stream.items():
            await bus.publish(stream, payloads)

    return publish
