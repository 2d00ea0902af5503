"""The signed-in user's notifications: list with the unread count, and mark read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import require_principal
from server.api.parsing import query_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import MarkReadBody
from server.services import inbox


async def list_notifications(request: Request) -> Response:
    principal = await require_principal(request)
    page = await inbox.list_notifications(
        request.state.services,
        viewer=principal.viewer,
        cursor=request.query_params.get("cursor"),
        limit=query_int(request, "limit", default=50, minimum=1, maximum=200),
        unread_only=request.query_params.get("unread") in ("1", "true"),
    )
    return JSONResponse(page)


async def mark_read(request: Request) -> Response:
    principal = await require_principal(request)
    body = await read_body(request, MarkReadBody)
    marked = await inbox.mark_read(
        request.state.services, viewer=principal.viewer, ids=None if body.all else body.ids
    )
    return JSONResponse(marked)


routes = [
    Route("/api/notifications", list_notifications, methods=["GET"]),
    Route("/api/notifications/read", mark_read, methods=["POST"]),
]
