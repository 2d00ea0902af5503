"""The per-process hub: local sockets of each stream, one bus subscription per stream, ordered
gap-free fan-out, and presence.

Ordering and exactly-once: for each stream the hub keeps ``last_seq``, the last event it fanned
out. An event from the bus with ``seq <= last_seq`` is a duplicate and dropped; one with
``seq > last_seq + 1`` reveals a gap, filled from the database first (the row lock on the stream
head means every lower seq has committed). Each socket's subscription starts at the stream head
read after it registered; events the hub fans out during its replay wait in the subscription and
are flushed, skipping what the replay already sent, in the same step that makes it live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import col, select

from server.bus import EventBus
from server.db.models import StreamHead, User
from server.domain.streams import CONTROL_STREAM
from server.live.connection import (
    CLOSE_POLICY,
    CLOSE_RESTARTING,
    Connection,
    Subscription,
)
from server.live.metrics import LiveMetrics
from server.live.presence import PresenceStore
from server.services.context import Services
from server.services.events import events_after, stream_head
from server.services.streams import check_stream_readable
from server.services.views import author_view

log = logging.getLogger("gnrp.live")


@dataclass(slots=True)
class LocalStream:
    """What this process serves of one stream."""

    last_seq: int = 0
    subscribers: dict[Connection, Subscription] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    present: Counter[int] = field(default_factory=Counter)  # local sockets per signed-in user
    shown_presence: tuple[int, ...] | None = None


class Hub:
    def __init__(
        self,
        *,
        services: Services,
        bus: EventBus,
        presence: PresenceStore,
        metrics: LiveMetrics,
    ) -> None:
        self.services = services
        self.bus = bus
        self.presence = presence
        self.metrics = metrics
        self.process_id = uuid.uuid4().hex[:12]
        self.streams: dict[str, LocalStream] = {}
        self.connections: set[Connection] = set()
        self.sockets_per_user: Counter[int] = Counter()
        self._user_views: dict[int, dict[str, Any]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._bus_lock = asyncio.Lock()  # keeps bus (un)subscribe calls in the order decided
        self._replay_limit = services.settings.replay_limit

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.bus.start(self._on_bus_payload, self._on_reconnected)
        await self.bus.subscribe(CONTROL_STREAM)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="live-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for connection in list(self.connections):
            connection.close(CLOSE_RESTARTING)
        for stream, local in self.streams.items():
            for user_id in local.present:
                with contextlib.suppress(Exception):
                    await self.presence.remove(stream, self._member(user_id))
        await self.bus.stop()
        await self.presence.close()

    # -- sockets -------------------------------------------------------------------------------

    def attach(self, connection: Connection) -> None:
        self.connections.add(connection)
        connection.on_close = self._drop_subscriptions_soon
        if connection.user_id is not None:
            self.sockets_per_user[connection.user_id] += 1
            if connection.user_view:
                self._user_views[connection.user_id] = connection.user_view
        self.metrics.open_sockets.inc()

    def _drop_subscriptions_soon(self, connection: Connection) -> None:
        task = asyncio.create_task(self._drop_subscriptions(connection))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _drop_subscriptions(self, connection: Connection) -> None:
        for stream in list(connection.subscriptions):
            await self.unsubscribe(connection, stream)

    async def detach(self, connection: Connection) -> None:
        await self._drop_subscriptions(connection)
        self.connections.discard(connection)
        if connection.user_id is not None:
            self.sockets_per_user[connection.user_id] -= 1
            if self.sockets_per_user[connection.user_id] <= 0:
                del self.sockets_per_user[connection.user_id]
        self.metrics.open_sockets.dec()

    async def subscribe(self, connection: Connection, stream: str, since: int | None) -> None:
        """Send ``subscribed`` (or ``reset``), the replay after ``since``, then live events."""
        stream = await check_stream_readable(self.services, viewer=connection.viewer, stream=stream)
        if stream in connection.subscriptions:
            await self.unsubscribe(connection, stream)
        local = await self._serve(stream)
        subscription = Subscription()
        local.subscribers[connection] = subscription
        connection.subscriptions[stream] = subscription
        self.metrics.subscriptions.inc()

        async with self.services.read() as session:
            head = await stream_head(session, stream=stream)
        if since is not None and head - since > self._replay_limit:
            await self.unsubscribe(connection, stream)
            connection.send_json({"type": "reset", "stream": stream, "head": head})
            return
        connection.send_json({"type": "subscribed", "stream": stream, "head": head})
        if since is not None and since < head:
            async with self.services.read() as session:
                missed = await events_after(session, stream=stream, after=since, limit=head - since)
            for envelope in missed:
                connection.send(orjson.dumps(envelope.model_dump()).decode())
        # From here to `live = True` nothing awaits, so no fan-out can slip in between.
        subscription.delivered = head
        for seq, frame in subscription.pending:
            if seq > subscription.delivered:
                connection.send(frame)
                subscription.delivered = seq
        subscription.pending = []
        subscription.live = True
        if connection.subscriptions.get(stream) is not subscription:
            return  # the socket went away or unsubscribed during the replay

        if stream.startswith("room:"):
            if connection.user_id is not None:
                await self._enter(local, stream, connection.user_id)
            await self._show_presence(stream, newcomer=connection)

    async def unsubscribe(self, connection: Connection, stream: str) -> bool:
        if connection.subscriptions.pop(stream, None) is None:
            return False
        self.metrics.subscriptions.dec()
        local = self.streams.get(stream)
        if local is None:
            return True
        local.subscribers.pop(connection, None)
        if connection.user_id is not None and connection.user_id in local.present:
            await self._leave(local, stream, connection.user_id)
        if not local.subscribers and self.streams.get(stream) is local:
            # The last local subscriber left: drop the bus subscription, unless a new
            # subscriber took the stream up again meanwhile.
            del self.streams[stream]
            async with self._bus_lock:
                if stream not in self.streams:
                    await self.bus.unsubscribe(stream)
        return True

    async def typing(self, connection: Connection, stream: str, thread_id: int) -> None:
        payload = {
            "type": "typing",
            "stream": stream,
            "thread": thread_id,
            "user": connection.user_view,
        }
        await self.services.publish([(stream, orjson.dumps(payload))])

    # -- from the bus --------------------------------------------------------------------------

    async def _on_bus_payload(self, stream: str, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
            kind = message.get("type")
            if stream == CONTROL_STREAM:
                self._on_control(message)
                return
            local = self.streams.get(stream)
            if local is None:
                return
            if kind == "event":
                async with local.lock:
                    await self._fan_out(local, stream, int(message["seq"]), payload.decode())
                self._observe_latency(message.get("at"))
            elif kind == "typing":
                self._fan_out_typing(local, payload.decode(), message.get("user") or {})
            elif kind == "presence":
                await self._show_presence(stream)
        except Exception:
            log.exception("could not deliver a bus payload", extra={"stream": stream})

    async def _fan_out(self, local: LocalStream, stream: str, seq: int, frame: str) -> None:
        """Called with ``local.lock`` held."""
        if seq <= local.last_seq:
            return
        if seq > local.last_seq + 1:
            await self._fill(local, stream, upto=seq - 1)
        self._deliver(local, seq, frame)

    async def _fill(self, local: LocalStream, stream: str, *, upto: int) -> None:
        """Deliver events ``last_seq+1 .. upto`` from the database (the bus lost them)."""
        while local.last_seq < upto:
            async with self.services.read() as session:
                missed = await events_after(
                    session,
                    stream=stream,
                    after=local.last_seq,
                    limit=min(upto - local.last_seq, self._replay_limit),
                )
            if not missed:
                return
            self.metrics.gaps_filled.inc(len(missed))
            for envelope in missed:
                self._deliver(local, envelope.seq, orjson.dumps(envelope.model_dump()).decode())

    def _deliver(self, local: LocalStream, seq: int, frame: str) -> None:
        local.last_seq = seq
        sent = 0
        for connection, subscription in local.subscribers.items():
            if not subscription.live:
                subscription.pending.append((seq, frame))
            elif seq > subscription.delivered:
                subscription.delivered = seq
                connection.send(frame)
                sent += 1
        self.metrics.events_delivered.inc(sent)

    def _fan_out_typing(self, local: LocalStream, frame: str, user: dict[str, Any]) -> None:
        for connection, subscription in local.subscribers.items():
            if subscription.live and connection.user_id != user.get("id"):
                connection.send(frame)

    def _on_control(self, message: dict[str, Any]) -> None:
        if message.get("type") != "revoked":
            return
        session_id, user_id = message.get("session_id"), message.get("user_id")
        for connection in list(self.connections):
            if (session_id is not None and connection.session_id == session_id) or (
                user_id is not None and connection.user_id == user_id
            ):
                connection.close(CLOSE_POLICY)

    async def _on_reconnected(self) -> None:
        """The bus was away and lost what was published meanwhile: re-read every stream."""
        self.metrics.redis_reconnects.inc()
        await self._catch_up()
        await self._renew_presence()

    def _observe_latency(self, at: str | None) -> None:
        if at:
            with contextlib.suppress(ValueError):
                sent = datetime.fromisoformat(at).timestamp()
                self.metrics.deliver_latency.observe(max(0.0, time.time() - sent))

    # -- streams served ------------------------------------------------------------------------

    async def _serve(self, stream: str) -> LocalStream:
        """The stream's local state; the first subscriber takes the bus subscription and reads
        the head, so that everything after it is fanned out."""
        local = self.streams.get(stream)
        if local is not None:
            async with local.lock:  # wait until the first subscriber's set-up is done
                pass
            if self.streams.get(stream) is local:
                return local
        local = LocalStream()
        self.streams[stream] = local
        async with local.lock:
            async with self._bus_lock:
                await self.bus.subscribe(stream)
            async with self.services.read() as session:
                local.last_seq = await stream_head(session, stream=stream)
        return local

    async def _catch_up(self) -> None:
        """Fill any stream whose head in the database is past what this process fanned out."""
        names = list(self.streams)
        if not names:
            return
        async with self.services.read() as session:
            rows = (
                await session.exec(
                    select(StreamHead.stream, StreamHead.seq).where(
                        col(StreamHead.stream).in_(names)
                    )
                )
            ).all()
        for stream, head in rows:
            local = self.streams.get(stream)
            if local is not None and head > local.last_seq:
                async with local.lock:
                    await self._fill(local, stream, upto=head)

    async def _sweep_forever(self) -> None:
        interval = self.services.settings.live_sweep_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self._catch_up()
                await self._renew_presence()
            except Exception:
                log.exception("live sweep failed")

    # -- presence ------------------------------------------------------------------------------

    def _member(self, user_id: int) -> str:
        return f"{self.process_id}:{user_id}"

    async def _enter(self, local: LocalStream, stream: str, user_id: int) -> None:
        local.present[user_id] += 1
        if local.present[user_id] == 1:
            ttl = self.services.settings.presence_ttl_seconds
            await self.presence.put(stream, [self._member(user_id)], ttl)
            await self._announce_presence(stream)

    async def _leave(self, local: LocalStream, stream: str, user_id: int) -> None:
        local.present[user_id] -= 1
        if local.present[user_id] <= 0:
            del local.present[user_id]
            await self.presence.remove(stream, self._member(user_id))
            await self._announce_presence(stream)

    async def _announce_presence(self, stream: str) -> None:
        await self.services.publish([(stream, orjson.dumps({"type": "presence"}))])

    async def _renew_presence(self) -> None:
        ttl = self.services.settings.presence_ttl_seconds
        for stream, local in list(self.streams.items()):
            if not stream.startswith("room:"):
                continue
            await self.presence.put(stream, [self._member(u) for u in local.present], ttl)
            await self._show_presence(stream)

    async def _show_presence(self, stream: str, newcomer: Connection | None = None) -> None:
        """Send the room's users to local sockets if they changed since last shown, and to a
        newly subscribed socket in any case."""
        local = self.streams.get(stream)
        if local is None:
            return
        users = await self._present_users(stream)
        shown = tuple(user["id"] for user in users)
        frame = orjson.dumps({"type": "presence", "stream": stream, "users": users}).decode()
        if shown != local.shown_presence:
            local.shown_presence = shown
            for connection, subscription in local.subscribers.items():
                if subscription.live:
                    connection.send(frame)
        elif newcomer is not None:
            newcomer.send(frame)

    async def _present_users(self, stream: str) -> list[dict[str, Any]]:
        ids = sorted({int(m.rsplit(":", 1)[1]) for m in await self.presence.members(stream)})
        missing = [user_id for user_id in ids if user_id not in self._user_views]
        if missing:
            if len(self._user_views) > 10_000:
                self._user_views.clear()
            async with self.services.read() as session:
                found = (await session.exec(select(User).where(col(User.id).in_(missing)))).all()
            for user in found:
                assert user.id is not None
                self._user_views[user.id] = author_view(user)
        return [self._user_views[user_id] for user_id in ids if user_id in self._user_views]
