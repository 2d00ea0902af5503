"""Moderators' views: the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer
from server.api.parsing import query_int
from server.api.responses import JSONResponse
from server.domain.errors import Unauthorized
from server.services.audit import read_audit


async def audit_log(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        raise Unauthorized("sign in first")
    actor = request.query_params.get("actor")
    entries, cursor = await read_audit(
        request.state.services,
        viewer=viewer,
        actor=query_int(request, "actor", default=0, minimum=1) if actor else None,
        target=request.query_params.get("target") or None,
        action=request.query_params.get("action") or None,
        cursor=request.query_params.get("cursor") or None,
        limit=query_int(request, "limit", default=50, minimum=1, maximum=200),
    )
    return JSONResponse({"entries": entries, "cursor": cursor})


routes = [Route("/api/audit", audit_log, methods=["GET"])]
