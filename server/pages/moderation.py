"""The moderators' page (flag queue, audit log) and the moderation forms on thread pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.api.auth import current_viewer, require_principal
from server.domain.errors import DomainError, NotFound
from server.domain.permissions import can_moderate
from server.pages.rendering import html_errors, pages_of, read_form
from server.services import flags, moderation, people
from server.services.audit import read_audit

FLAG_REASONS = ("spam", "off-topic", "inappropriate", "misinformation", "other")


@html_errors
async def moderation_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    if not can_moderate(viewer):
        raise NotFound("no such page")
    services = request.state.services
    params = request.query_params
    try:
        actor = int(params["actor"]) if params.get("actor") else None
        entries, cursor = await read_audit(
            services, viewer=viewer, actor=actor, target=params.get("target") or None,
            action=params.get("action") or None, cursor=params.get("cursor") or None, limit=50,
        )  # fmt: skip
        error = None
    except (DomainError, ValueError) as problem:
        entries, cursor = [], None
        error = getattr(problem, "message", "the filters are not right")
    queue = await flags.review_queue(services, viewer=viewer)
    context = {
        "nav": "moderation",
        "queue": queue,
        "requests": await people.pending_requests(services, viewer=viewer),
        "entries": entries,
        "cursor": cursor,
        "filters": {k: params.get(k, "") for k in ("actor", "target", "action")},
        "error": error,
    }
    return await pages_of(request).render(request, "moderation.html", context)


@html_errors
async def resolve(request: Request) -> Response:
    principal = await require_principal(request)
    form = await read_form(request)
    await flags.resolve_flags(
        request.state.services,
        viewer=principal.viewer,
        message_id=int(request.path_params["id"]),
        action=form.get("action", ""),
        reason=form.get("reason", ""),
    )
    return RedirectResponse("/moderation", status_code=303)


@html_errors
async def message_action(request: Request) -> Response:
    """Flag, hide, restore or pin one message, from the forms under it on the thread page."""
    principal = await require_principal(request)
    form = await read_form(request)
    services = request.state.services
    message_id = int(request.path_params["id"])
    thread_id = int(form.get("thread", "0") or 0)
    action = request.path_params["action"]
    if action == "flag":
        await flags.flag_message(
            services, viewer=principal.viewer, message_id=message_id,
            reason=form.get("reason", ""), note=form.get("note", ""),
        )  # fmt: skip
    elif action in ("hide", "restore"):
        await moderation.set_hidden(
            services, viewer=principal.viewer, message_id=message_id, hidden=action == "hide",
            reason=form.get("reason", ""),
        )  # fmt: skip
    elif action == "pin":
        await moderation.pin_answer(
            services, viewer=principal.viewer, thread_id=thread_id, message_id=message_id
        )
    else:
        raise NotFound("no such action")
    return RedirectResponse(f"/threads/{thread_id}#m{message_id}", status_code=303)


@html_errors
async def decide(request: Request) -> Response:
    principal = await require_principal(request)
    form = await read_form(request)
    await people.decide_request(
        request.state.services,
        viewer=principal.viewer,
        request_id=int(request.path_params["id"]),
        approve=form.get("decision") == "approve",
        reason=form.get("reason", ""),
    )
    return RedirectResponse("/moderation", status_code=303)


@html_errors
async def ask_verification(request: Request) -> Response:
    principal = await require_principal(request)
    form = await read_form(request)
    await people.ask_verification(
        request.state.services,
        viewer=principal.viewer,
        organization=form.get("organization", ""),
        country=form.get("country", ""),
        note=form.get("note", ""),
    )
    return RedirectResponse("/settings?asked=1", status_code=303)


routes = [
    Route("/moderation/verifications/{id:int}", decide, methods=["POST"]),
    Route("/settings/verification", ask_verification, methods=["POST"]),
    Route("/moderation", moderation_page, methods=["GET"]),
    Route("/moderation/flags/{id:int}/resolve", resolve, methods=["POST"]),
    Route("/messages/{id:int}/{action}", message_action, methods=["POST"]),
]
