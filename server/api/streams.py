"""Catch-up over HTTP: the events of a stream after a seq."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer
from server.api.parsing import query_int
from server.api.responses import JSONResponse
from server.services.streams import read_stream


async def stream_events(request: Request) -> Response:
    services = request.state.services
    head, events = await read_stream(
        services,
        viewer=await current_viewer(request),
        stream=request.path_params["stream"],
        after=query_int(request, "after", default=0),
        limit=query_int(
            request, "limit", default=100, minimum=1, maximum=services.settings.replay_limit
        ),
    )
    return JSONResponse(
        {
            "stream": request.path_params["stream"],
            "head": head,
            "events": [event.model_dump() for event in events],
        }
    )


routes = [Route("/api/streams/{stream}/events", stream_events, methods=["GET"])]
