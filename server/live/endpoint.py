"""``/ws``: the live protocol of SPEC section 3 on one socket."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from server.api.auth import bearer_token, current_principal
from server.api.responses import error_response
from server.domain.errors import DomainError, RateLimited
from server.live.connection import CLOSE_TOO_LARGE, Connection
from server.live.hub import Hub
from server.live.protocol import (
    Ping,
    Post,
    Subscribe,
    Typing,
    Unsubscribe,
    client_frame,
    error_frame,
)
from server.services import threads
from server.services.context import Services
from server.services.live import typing_stream
from server.services.views import author_view

log = logging.getLogger("gnrp.live")


async def live_socket(websocket: WebSocket) -> None:
    services: Services = websocket.state.services
    hub: Hub = websocket.state.hub
    settings = services.settings

    # Refused before accept, as plain HTTP: a page of another site must not open a socket with
    # the user's cookie. Scripts using a bearer token may omit Origin; browsers always send it.
    origin = websocket.headers.get("origin")
    if origin is None and bearer_token(websocket) is None:
        await _deny(websocket, 403, "forbidden", "the Origin header is required")
        return
    if origin is not None and origin.lower() not in settings.trusted_origins:
        await _deny(websocket, 403, "forbidden", "this origin may not open sockets here")
        return
    try:
        principal = await current_principal(websocket)
    except DomainError as error:
        await _deny(websocket, 401, error.code, error.message)
        return
    viewer = principal.viewer if principal else None
    if viewer is not None and hub.sockets_per_user[viewer.user_id] >= settings.ws_sockets_per_user:
        await _deny(websocket, 429, "rate_limited", "too many open sockets for this account")
        return

    await websocket.accept()
    connection = Connection(
        websocket,
        viewer=viewer,
        session_id=principal.session_id if principal else None,
        user_view=author_view(principal.user) if principal else None,
        queue_bytes=settings.ws_queue_bytes,
        metrics=hub.metrics,
    )
    hub.attach(connection)
    # Frames count per user (per socket for anonymous ones): WS_FRAME_BURST frames in the time
    # WS_FRAMES_PER_SECOND takes to earn them, through Redis when configured, so a user's sockets
    # on every process share one budget.
    frames_key = f"frames:{viewer.user_id}" if viewer else f"frames:socket:{id(connection)}"
    frames_window = settings.ws_frame_burst / max(1, settings.ws_frames_per_second)
    try:
        while not connection.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                connection.send_json(error_frame("invalid", "send JSON text frames", None))
                continue
            if len(text) > settings.ws_max_frame_bytes:
                connection.close(CLOSE_TOO_LARGE)
                break
            if await services.limiter.take(
                frames_key, limit=settings.ws_frame_burst, window=frames_window
            ):
                connection.send_json(error_frame("rate_limited", "slow down", _op_of(text)))
                continue
            await _handle(hub, services, connection, text)
    except Exception:
        if websocket.client_state != WebSocketState.DISCONNECTED:
            log.exception("socket failed")
    finally:
        if viewer is None:
            await services.limiter.reset(frames_key)  # that socket's count ends with it
        await hub.detach(connection)
        await connection.finish()


async def _handle(hub: Hub, services: Services, connection: Connection, text: str) -> None:
    try:
        frame = client_frame.validate_json(text)
    except ValidationError as error:
        connection.send_json(error_frame("invalid", _describe(error), _op_of(text)))
        return
    try:
        if isinstance(frame, Subscribe):
            await hub.subscribe(connection, frame.stream, frame.since)
        elif isinstance(frame, Unsubscribe):
            await hub.unsubscribe(connection, frame.stream)
            connection.send_json({"type": "unsubscribed", "stream": frame.stream})
        elif isinstance(frame, Post):
            posted = await threads.post_message(
                services,
                viewer=connection.viewer,
                thread_id=frame.thread,
                body=frame.body,
                client_id=frame.client_id,
            )
            connection.send_json(
                {
                    "type": "ack",
                    "client_id": frame.client_id,
                    "message": posted.message,
                    "seq": posted.seq,
                }
            )
        elif isinstance(frame, Typing):
            stream = await typing_stream(services, viewer=connection.viewer, thread_id=frame.thread)
            await hub.typing(connection, stream, frame.thread)
        elif isinstance(frame, Ping):
            connection.send_json({"type": "pong"})
    except DomainError as error:
        code = error.code if error.code in _FRAME_CODES else "forbidden"
        reply: dict[str, Any] = error_frame(code, error.message, frame.op)
        if isinstance(error, RateLimited):
            reply["retry_after"] = error.retry_after
        connection.send_json(reply)


# SPEC's error codes for frames; an HTTP-only code (unauthorized, conflict) reads as forbidden.
_FRAME_CODES = frozenset({"invalid", "not_found", "forbidden", "rate_limited", "too_large"})


def _op_of(text: str) -> str | None:
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    op = parsed.get("op") if isinstance(parsed, dict) else None
    return op if isinstance(op, str) else None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


async def _deny(websocket: WebSocket, status: int, code: str, message: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(code, message, status=status))
    else:
        await websocket.close(1008)


routes = [WebSocketRoute("/ws", live_socket)]
