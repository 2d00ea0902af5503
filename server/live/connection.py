"""One open socket: who it is, what it follows, and its bounded send queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.websockets import WebSocket

from server.domain.permissions import Viewer
from server.live.metrics import LiveMetrics

CLOSE_POLICY = 1008  # session revoked or account disabled
CLOSE_TOO_LARGE = 1009
CLOSE_RESTARTING = 1012
CLOSE_TOO_SLOW = 1013


@dataclass(slots=True)
class Subscription:
    """A socket's place in a stream: the last seq it was sent, and, until its replay is done,
    the live events that arrived meanwhile."""

    delivered: int = 0
    live: bool = False
    pending: list[tuple[int, str]] = field(default_factory=list)


class Connection:
    """The send path is the hot loop of fan-out (one call per socket per event), so it avoids a
    task per socket: a frame is written at once when nothing is queued, by stepping the send
    coroutine by hand; only when the transport pushes back (the peer reads slowly) does the rest
    wait in a bounded queue drained by a short-lived task."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        viewer: Viewer | None,
        session_id: str | None,
        user_view: dict[str, object] | None,
        queue_bytes: int,
        metrics: LiveMetrics,
    ) -> None:
        self.websocket = websocket
        self.viewer = viewer
        self.session_id = session_id
        self.user_view = user_view
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = False
        self._queue: deque[str] = deque()
        self._queued = 0
        self._limit = queue_bytes
        self._metrics = metrics
        self._drainer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        # Set by the hub: drops the socket's subscriptions as soon as it is being closed, without
        # waiting for a peer that may never answer the close.
        self.on_close: Callable[[Connection], None] | None = None

    @property
    def user_id(self) -> int | None:
        return self.viewer.user_id if self.viewer else None

    def send(self, frame: str) -> None:
        """Send or queue a frame without waiting. A socket whose queue overflows is closed with
        1013: it resumes with ``since``, and nobody else waits for it."""
        if self.closed:
            return
        if self._drainer is None:
            sending = self.websocket.send_text(frame)
            try:
                waiting = sending.send(None)
            except StopIteration:
                return  # written to the transport: the usual case
            except Exception:
                self._gone()
                return
            # The transport is paused: finish this send, then the queue, in a task.
            self._drainer = asyncio.create_task(self._drain(sending, waiting), name="ws-drain")
            return
        self._queued += len(frame)
        if self._queued > self._limit:
            self._metrics.queue_overflows.inc()
            self.close(CLOSE_TOO_SLOW)
            return
        self._queue.append(frame)

    def send_json(self, payload: dict[str, object]) -> None:
        self.send(orjson.dumps(payload).decode())

    def close(self, code: int) -> None:
        """Close soon, from any task; queued frames are dropped."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued = 0
        self._closer = asyncio.create_task(self._close(code), name="ws-close")
        if self.on_close is not None:
            self.on_close(self)

    async def finish(self) -> None:
        """Stop sending (the socket is gone)."""
        self.closed = True
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drainer

    def _gone(self) -> None:
        self.closed = True  # the peer went away; the endpoint's reader cleans up
        self._queue.clear()

    async def _close(self, code: int) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
        with contextlib.suppress(Exception):
            await self.websocket.close(code)

    async def _drain(self, sending: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            await _Resumed(sending, waiting)
            while self._queue and not self.closed:
                frame = self._queue.popleft()
                self._queued -= len(frame)
                await self.websocket.send_text(frame)
        except asyncio.CancelledError:
            sending.close()
            raise
        except Exception:
            self._gone()
        finally:
            self._drainer = None


class _Resumed:
    """Awaitable that finishes a coroutine already stepped by hand up to its first suspension:
    it hands the task what the coroutine waits on, exactly as ``await coroutine`` would."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coroutine = coroutine
        self._waiting = waiting

    def __await__(self) -> Generator[Any, None, None]:
        waiting = self._waiting
        while True:
            yield waiting
            try:
                waiting = self._coroutine.send(None)
            except StopIteration:
                return
