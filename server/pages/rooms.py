"""Home, room and thread pages, and their no-JavaScript forms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.api.auth import current_viewer
from server.domain.errors import DomainError
from server.domain.streams import room_stream
from server.pages.notifications import follow_level
from server.pages.rendering import html_errors, pages_of, read_form
from server.services import rooms, threads
from server.services.views import room_view


@html_errors
async def home(request: Request) -> Response:
    services = request.state.services
    viewer = await current_viewer(request)
    found = await rooms.list_rooms(services, viewer=viewer)
    recent = await threads.recent_threads(services, viewer=viewer)
    context = {
        "nav": "home",
        "rooms": [{**room_view(room), "head": head} for room, head in found],
        "recent": recent,
    }
    return await pages_of(request).render(request, "home.html", context)


@html_errors
async def room(request: Request) -> Response:
    viewer = await current_viewer(request)
    page = await threads.list_threads(
        request.state.services,
        viewer=viewer,
        slug=request.path_params["slug"],
        cursor=request.query_params.get("cursor") or None,
        limit=50,
    )
    context = {
        "room": room_view(page.room),
        "threads": page.threads,
        "head": page.head,
        "cursor": page.cursor,
        "follow_level": await follow_level(request, room_stream(page.room.slug)),
    }
    return await pages_of(request).render(request, "room.html", context)


@html_errors
async def start_thread(request: Request) -> Response:
    viewer = await current_viewer(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    kind = form.get("kind", "discussion")
    try:
        thread, _ = await threads.create_thread(
            request.state.services,
            viewer=viewer,
            slug=slug,
            title=form.get("title", ""),
            body=form.get("body", ""),
            kind=kind if kind in ("discussion", "question") else "discussion",
            countries=form.get("countries", "").replace(",", " ").split(),
        )
    except DomainError as error:
        if error.code != "invalid":
            raise
        response = await room(request)
        return await _with_error(request, response, "room.html", error.message)
    return RedirectResponse(f"/threads/{thread['id']}", status_code=303)


@html_errors
async def thread(request: Request) -> Response:
    snapshot = await threads.load_thread(
        request.state.services,
        viewer=await current_viewer(request),
        thread_id=int(request.path_params["id"]),
        cursor=request.query_params.get("cursor") or None,
        limit=200,
    )
    pinned = snapshot["pinned"]
    messages = snapshot["messages"]
    context = {
        "thread": snapshot["thread"],
        "room": snapshot["room"],
        "archived": snapshot["room"].get("archived", False),
        "messages": messages,
        "pinned": pinned,
        "head": snapshot["head"],
        "cursor": snapshot["cursor"],
        "error": request.query_params.get("error"),
        "flag_reasons": ("spam", "off-topic", "inappropriate", "misinformation", "other"),
        "follow_level": await follow_level(request, f"thread:{snapshot['thread']['id']}"),
    }
    return await pages_of(request).render(request, "thread.html", context)


@html_errors
async def reply(request: Request) -> Response:
    viewer = await current_viewer(request)
    form = await read_form(request)
    thread_id = int(request.path_params["id"])
    try:
        posted = await threads.post_message(
            request.state.services,
            viewer=viewer,
            thread_id=thread_id,
            body=form.get("body", ""),
            client_id=form.get("client_id") or None,
        )
    except DomainError as error:
        if error.code != "invalid":
            raise
        return await _with_error(request, await thread(request), "thread.html", error.message)
    return RedirectResponse(f"/threads/{thread_id}#m{posted.message['id']}", status_code=303)


@html_errors
async def history(request: Request) -> Response:
    """Every earlier body of a message, for whoever can read the message."""
    revisions = await threads.message_history(
        request.state.services,
        viewer=await current_viewer(request),
        message_id=int(request.path_params["id"]),
    )
    return await pages_of(request).render(
        request, "history.html", {"revisions": revisions, "message_id": request.path_params["id"]}
    )


async def _with_error(request: Request, page: Response, template: str, message: str) -> Response:
    """Render ``template`` again with the form's error, as a 400."""
    context = dict(getattr(page, "context", {}))
    context["error"] = message
    context.pop("request", None)
    return await pages_of(request).render(request, template, context, status=400)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/rooms/{slug}", room, methods=["GET"]),
    Route("/rooms/{slug}/threads", start_thread, methods=["POST"]),
    Route("/threads/{id:int}", thread, methods=["GET"]),
    Route("/threads/{id:int}/messages", reply, methods=["POST"]),
    Route("/messages/{id:int}/history", history, methods=["GET"]),
]
