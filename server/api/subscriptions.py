"""Following rooms, countries and threads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import require_principal
from server.api.parsing import read_body
from server.api.responses import JSONResponse
from server.api.schemas import SubscriptionBody
from server.services import subscriptions


async def list_subscriptions(request: Request) -> Response:
    principal = await require_principal(request)
    rows = await subscriptions.subscriptions_of(request.state.services, viewer=principal.viewer)
    return JSONResponse({"subscriptions": rows})


async def put_subscription(request: Request) -> Response:
    principal = await require_principal(request)
    body = await read_body(request, SubscriptionBody)
    row = await subscriptions.follow(
        request.state.services,
        viewer=principal.viewer,
        target=request.path_params["target"],
        level=body.level,
    )
    return JSONResponse({"subscription": row})


async def delete_subscription(request: Request) -> Response:
    principal = await require_principal(request)
    await subscriptions.unfollow(
        request.state.services, viewer=principal.viewer, target=request.path_params["target"]
    )
    return Response(status_code=204)


routes = [
    Route("/api/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/api/subscriptions/{target}", put_subscription, methods=["PUT"]),
    Route("/api/subscriptions/{target}", delete_subscription, methods=["DELETE"]),
]
