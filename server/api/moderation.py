"""Moderation over HTTP: pinned answers, hide and restore, the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import current_viewer, require_principal
from server.api.parsing import path_int, query_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import (
    AccountChangesBody,
    DecisionBody,
    FlagBody,
    PinBody,
    ReasonBody,
    ResolveBody,
    VerificationRequestBody,
)
from server.services import flags, moderation, people
from server.services.audit import read_audit


async def audit_log(request: Request) -> Response:
    viewer = (await require_principal(request)).viewer
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


async def pin(request: Request) -> Response:
    body = await read_body(request, PinBody)
    pinned = await moderation.pin_answer(
        request.state.services,
        viewer=await current_viewer(request),
        thread_id=path_int(request, "id"),
        message_id=body.message_id,
    )
    return JSONResponse(pinned)


async def unpin(request: Request) -> Response:
    await moderation.unpin_answer(
        request.state.services,
        viewer=await current_viewer(request),
        thread_id=path_int(request, "id"),
    )
    return Response(status_code=204)


async def hide(request: Request) -> Response:
    return await _set_hidden(request, hidden=True)


async def restore(request: Request) -> Response:
    return await _set_hidden(request, hidden=False)


async def _set_hidden(request: Request, *, hidden: bool) -> Response:
    body = await read_body(request, ReasonBody)
    message = await moderation.set_hidden(
        request.state.services,
        viewer=await current_viewer(request),
        message_id=path_int(request, "id"),
        hidden=hidden,
        reason=body.reason,
    )
    return JSONResponse({"message": message})


async def flag(request: Request) -> Response:
    body = await read_body(request, FlagBody)
    result = await flags.flag_message(
        request.state.services,
        viewer=await current_viewer(request),
        message_id=path_int(request, "id"),
        reason=body.reason,
        note=body.note,
    )
    return JSONResponse({"flag": result}, status_code=201)


async def flag_queue(request: Request) -> Response:
    viewer = (await require_principal(request)).viewer
    queue = await flags.review_queue(request.state.services, viewer=viewer)
    return JSONResponse({"flagged": queue})


async def resolve(request: Request) -> Response:
    body = await read_body(request, ResolveBody)
    result = await flags.resolve_flags(
        request.state.services,
        viewer=await current_viewer(request),
        message_id=path_int(request, "id"),
        action=body.action,
        reason=body.reason,
    )
    return JSONResponse(result)


async def change_account(request: Request) -> Response:
    body = await read_body(request, AccountChangesBody)
    user = await people.change_account(
        request.state.services,
        viewer=await current_viewer(request),
        user_id=path_int(request, "id"),
        changes=people.AccountChanges(**body.model_dump()),
    )
    return JSONResponse({"user": user})


async def ask_verification(request: Request) -> Response:
    body = await read_body(request, VerificationRequestBody)
    viewer = (await require_principal(request)).viewer
    asked = await people.ask_verification(
        request.state.services,
        viewer=viewer,
        organization=body.organization,
        country=body.country,
        note=body.note,
    )
    return JSONResponse({"request": asked}, status_code=201)


async def verification_queue(request: Request) -> Response:
    viewer = (await require_principal(request)).viewer
    queue = await people.pending_requests(request.state.services, viewer=viewer)
    return JSONResponse({"requests": queue})


async def decide(request: Request) -> Response:
    body = await read_body(request, DecisionBody)
    decided = await people.decide_request(
        request.state.services,
        viewer=await current_viewer(request),
        request_id=path_int(request, "id"),
        approve=body.decision == "approve",
        reason=body.reason,
    )
    return JSONResponse({"request": decided})


routes = [
    Route("/api/me/verification", ask_verification, methods=["POST"]),
    Route("/api/verifications", verification_queue, methods=["GET"]),
    Route("/api/verifications/{id:int}", decide, methods=["POST"]),
    Route("/api/users/{id:int}", change_account, methods=["PATCH"]),
    Route("/api/messages/{id:int}/flag", flag, methods=["POST"]),
    Route("/api/flags", flag_queue, methods=["GET"]),
    Route("/api/flags/{id:int}/resolve", resolve, methods=["POST"]),
    Route("/api/audit", audit_log, methods=["GET"]),
    Route("/api/threads/{id:int}/pin", pin, methods=["PUT"]),
    Route("/api/threads/{id:int}/pin", unpin, methods=["DELETE"]),
    Route("/api/messages/{id:int}/hide", hide, methods=["POST"]),
    Route("/api/messages/{id:int}/restore", restore, methods=["POST"]),
]
