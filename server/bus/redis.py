"""Redis pub/sub bus: channel ``<prefix>stream:<stream>`` per stream, one listener per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bus import Deliver, Reconnected

log = logging.getLogger("gnrp.bus")

_BROKEN = (RedisConnectionError, RedisTimeoutError, OSError)
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "gnrp:") -> None:
        self._url = url
        self._prefix = prefix
        self._channel_prefix = f"{prefix}stream:"
        self._streams: set[str] = set()
        # No hidden retries: a broken connection must surface here, so that the listener knows
        # messages were lost and can tell the hub to re-read from the database.
        self._publisher = Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, socket_timeout=5
        )
        self._subscriber = Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, socket_keepalive=True
        )
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def _channel(self, stream: str) -> str:
        return self._channel_prefix + stream

    async def start(self, deliver: Deliver, reconnected: Reconnected) -> None:
        try:
            await self._connect()
        except _BROKEN as exc:  # start anyway: the listener keeps trying, clients catch up later
            log.warning("redis unreachable at start", extra={"error": repr(exc)})
        self._listener = asyncio.create_task(self._listen(deliver, reconnected), name="redis-bus")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._close_pubsub()
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def publish(self, stream: str, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        channel = self._channel(stream)
        try:
            if len(payloads) == 1:
                await self._publisher.publish(channel, payloads[0])
            else:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for payload in payloads:
                        pipe.publish(channel, payload)
                    await pipe.execute()
        except (*_BROKEN, RedisError) as exc:
            # At most once: the events are committed; subscribers fill the gap from the database.
            log.warning("publish failed", extra={"stream": stream, "error": repr(exc)})

    async def subscribe(self, stream: str) -> None:
        if stream in self._streams:
            return
        self._streams.add(stream)
        await self._send_subscription("subscribe", stream)

    async def unsubscribe(self, stream: str) -> None:
        if stream not in self._streams:
            return
        self._streams.discard(stream)
        await self._send_subscription("unsubscribe", stream)

    async def _send_subscription(self, command: str, stream: str) -> None:
        pubsub = self._pubsub
        if pubsub is None or not self._connected.is_set():
            return  # applied by _connect when the broker is back
        try:
            await getattr(pubsub, command)(self._channel(stream))
        except _BROKEN:
            self._connected.clear()  # the listener notices and reconnects, re-subscribing all

    async def _connect(self) -> None:
        await self._close_pubsub()
        pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        # A control channel keeps the connection subscribed even when no stream is.
        await pubsub.subscribe(f"{self._prefix}alive", *(self._channel(s) for s in self._streams))
        self._pubsub = pubsub
        self._connected.set()

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._connected.clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self, deliver: Deliver, reconnected: Reconnected) -> None:
        prefix_length = len(self._channel_prefix)
        while True:
            if not self._connected.is_set() or self._pubsub is None:
                await self._reconnect(reconnected)
            pubsub = self._pubsub
            assert pubsub is not None
            try:
                # Blocks until a message arrives: no polling, no spinning.
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except _BROKEN as exc:
                log.warning("redis connection lost", extra={"error": repr(exc)})
                self._connected.clear()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            if channel.startswith(self._channel_prefix):
                await deliver(channel[prefix_length:], message["data"])

    async def _reconnect(self, reconnected: Reconnected) -> None:
        attempt = 0
        while True:
            try:
                await self._connect()
                break
            except _BROKEN:
                await asyncio.sleep(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)])
                attempt += 1
        log.info("redis connection restored", extra={"streams": len(self._streams)})
        await reconnected()
