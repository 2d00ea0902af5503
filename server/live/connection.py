"""One open socket: who it is, what it follows, and its bounded send queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

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
        self._wakeup = asyncio.Event()
        self._metrics = metrics
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        # Set by the hub: drops the socket's subscriptions as soon as it is being closed, without
        # waiting for a peer that may never answer the close.
        self.on_close: Callable[[Connection], None] | None = None

    @property
    def user_id(self) -> int | None:
        return self.viewer.user_id if self.viewer else None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="ws-writer")

    def send(self, frame: str) -> None:
        """Queue a frame without waiting. A socket whose queue overflows is closed with 1013:
        it resumes with ``since``, and nobody else waits for it."""
        if self.closed:
            return
        self._queued += len(frame)
        if self._queued > self._limit:
            self._metrics.queue_overflows.inc()
            self.close(CLOSE_TOO_SLOW)
            return
        self._queue.append(frame)
        self._wakeup.set()

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
        """Stop the writer (the socket is gone)."""
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    async def _close(self, code: int) -> None:
        if self._writer is not None:
            self._writer.cancel()
        with contextlib.suppress(Exception):
            await self.websocket.close(code)

    async def _write(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    frame = self._queue.popleft()
                    self._queued -= len(frame)
                    await self.websocket.send_text(frame)
        except Exception:  # the peer went away; the reader side cleans up
            self.closed = True
