"""Rooms and the threads in them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer
from server.api.parsing import query_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import RoomBody, RoomChangesBody, ThreadBody
from server.services import rooms, threads
from server.services.events import stream_head
from server.services.views import room_view


async def list_rooms(request: Request) -> Response:
    viewer = await current_viewer(request)
    found = await rooms.list_rooms(request.state.services, viewer=viewer)
    return JSONResponse({"rooms": [{**room_view(room), "head": head} for room, head in found]})


async def get_room(request: Request) -> Response:
    services = request.state.services
    viewer = await current_viewer(request)
    room = await rooms.load_room(services, viewer=viewer, slug=request.path_params["slug"])
    async with services.read() as session:
        head = await stream_head(session, stream=f"room:{room.slug}")
    return JSONResponse({"room": {**room_view(room), "head": head}})


async def create_room(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, RoomBody)
    room = await rooms.create_room(
        request.state.services,
        viewer=viewer,
        slug=body.slug,
        title=body.title,
        description=body.description,
        theme=body.theme,
        visibility=body.visibility,
    )
    return JSONResponse({"room": room_view(room)}, status_code=201)


async def update_room(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, RoomChangesBody)
    room = await rooms.update_room(
        request.state.services,
        viewer=viewer,
        slug=request.path_params["slug"],
        changes=rooms.RoomChanges(**body.model_dump(exclude_unset=True)),
    )
    return JSONResponse({"room": room_view(room)})


async def list_threads(request: Request) -> Response:
    viewer = await current_viewer(request)
    page = await threads.list_threads(
        request.state.services,
        viewer=viewer,
        slug=request.path_params["slug"],
        cursor=request.query_params.get("cursor") or None,
        limit=query_int(request, "limit", default=50, minimum=1, maximum=200),
    )
    return JSONResponse(
        {
            "room": room_view(page.room),
            "threads": page.threads,
            "head": page.head,
            "cursor": page.cursor,
        }
    )


async def create_thread(request: Request) -> Response:
    viewer = await current_viewer(request)
    body = await read_body(request, ThreadBody)
    thread, posted = await threads.create_thread(
        request.state.services,
        viewer=viewer,
        slug=request.path_params["slug"],
        title=body.title,
        body=body.body,
        kind=body.kind,
        countries=body.countries,
    )
    return JSONResponse(
        {"thread": thread, "message": posted.message, "seq": posted.seq}, status_code=201
    )


routes = [
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms/{slug}", get_room, methods=["GET"]),
    Route("/api/rooms/{slug}", update_room, methods=["PATCH"]),
    Route("/api/rooms/{slug}/threads", list_threads, methods=["GET"]),
    Route("/api/rooms/{slug}/threads", create_thread, methods=["POST"]),
]
