"""A thread's snapshot, posting to it, and editing messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer, require_principal
from server.api.parsing import path_int, query_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import EditBody, MessageBody, PreviewBody
from server.domain.content import MESSAGE_MAX
from server.domain.markdown import render_markdown
from server.services import threads


async def get_thread(request: Request) -> Response:
    snapshot = await threads.load_thread(
        request.state.services,
        viewer=await current_viewer(request),
        thread_id=path_int(request, "id"),
        cursor=request.query_params.get("cursor") or None,
        limit=query_int(request, "limit", default=100, minimum=1, maximum=500),
    )
    return JSONResponse(snapshot)


async def post_message(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, MessageBody)
    posted = await threads.post_message(
        request.state.services,
        viewer=viewer,
        thread_id=path_int(request, "id"),
        body=body.body,
        client_id=body.client_id,
    )
    return JSONResponse(
        {"message": posted.message, "seq": posted.seq}, status_code=201 if posted.created else 200
    )


async def edit_message(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, EditBody)
    message = await threads.edit_message(
        request.state.services, viewer=viewer, message_id=path_int(request, "id"), body=body.body
    )
    return JSONResponse({"message": message})


async def message_history(request: Request) -> Response:
    history = await threads.message_history(
        request.state.services,
        viewer=await current_viewer(request),
        message_id=path_int(request, "id"),
    )
    return JSONResponse({"history": history})


async def preview(request: Request) -> Response:
    """Markdown as it will be shown, for the composer's preview (one renderer, the server's)."""
    await require_principal(request)
    body = await read_body(request, PreviewBody)
    return JSONResponse({"html": render_markdown(body.body[:MESSAGE_MAX])})


routes = [
    Route("/api/preview", preview, methods=["POST"]),
    Route("/api/threads/{id:int}", get_thread, methods=["GET"]),
    Route("/api/threads/{id:int}/messages", post_message, methods=["POST"]),
    Route("/api/messages/{id:int}", edit_message, methods=["PATCH"]),
    Route("/api/messages/{id:int}/history", message_history, methods=["GET"]),
]
