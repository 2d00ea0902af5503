"""Pages for notifications and for choosing what one hears of: the list (each item opens through
``/notifications/{id}``, which marks it read), mark all read, the follow control's one route, and
the one-click digest unsubscribe (RFC 8058) linked from every digest."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.api.auth import current_principal, current_viewer, require_principal
from server.domain.digest import check_unsubscribe_token
from server.domain.errors import DomainError, NotFound
from server.domain.notifications import LABELS, notification_label
from server.domain.streams import user_stream
from server.pages.rendering import html_errors, pages_of, read_form, safe_next
from server.services import inbox, subscriptions
from server.services.context import Services
from server.services.digests import turn_digest_off
from server.services.events import stream_head

PAGE_SIZE = 30

# The follow control's choices: "none" unfollows, the others are subscription levels.
_LEVELS: dict[str, subscriptions.Level] = {"live": "live", "digest": "digest", "mute": "mute"}


@html_errors
async def notifications_page(request: Request) -> Response:
    services: Services = request.state.services
    principal = await require_principal(request)
    viewer = principal.viewer
    cursor = request.query_params.get("cursor") or None
    # The head before the list: what lands in between is listed and replayed (the page script
    # drops the copy), never neither.
    async with services.read() as session:
        head = await stream_head(session, stream=user_stream(viewer.user_id))
    page = await inbox.list_notifications(
        services, viewer=viewer, cursor=cursor, limit=PAGE_SIZE, unread_only=False
    )
    context = {
        "nav": "notifications",
        "notifications": [
            {**n, "label": notification_label(n["kind"], n["reason"])}
            for n in page["notifications"]
        ],
        "cursor": page["cursor"],
        "first_page": cursor is None,  # new notifications go on top of the first page only
        "labels": LABELS,
        "unread": page["unread"],
        "user_head": head,
    }
    return await pages_of(request).render(request, "notifications.html", context)


@html_errors
async def open_notification(request: Request) -> Response:
    """Mark one of the viewer's notifications read and go to what it is about. Someone else's
    is not found, and stays unread."""
    principal = await require_principal(request)
    url = await inbox.open_notification(
        request.state.services,
        viewer=principal.viewer,
        notification_id=int(request.path_params["id"]),
    )
    return RedirectResponse(safe_next(url), status_code=303)


@html_errors
async def mark_all_read(request: Request) -> Response:
    principal = await current_principal(request)
    if principal is None:
        return _sign_in_first("/notifications")
    await inbox.mark_read(request.state.services, viewer=principal.viewer, ids=None)
    return RedirectResponse("/notifications", status_code=303)


@html_errors
async def follow(request: Request) -> Response:
    """The follow control on room, thread, country and settings pages: ``target``, ``level``
    (``none`` to stop following) and ``next``, the local page to go back to."""
    form = await read_form(request)
    back = safe_next(form.get("next"))
    principal = await current_principal(request)
    if principal is None:
        return _sign_in_first(back)
    services: Services = request.state.services
    target, level = form.get("target", ""), form.get("level", "")
    if level == "none":
        with contextlib.suppress(NotFound):  # not following it already: nothing to do
            await subscriptions.unfollow(services, viewer=principal.viewer, target=target)
    elif level in _LEVELS:
        await subscriptions.follow(
            services, viewer=principal.viewer, target=target, level=_LEVELS[level]
        )
    else:
        raise DomainError("choose how to follow from the list", fields={"level": "unknown"})
    return RedirectResponse(back, status_code=303)


def _sign_in_first(back: str) -> Response:
    """A form posted after the session ended: sign in, then back to the page it came from (the
    form's own path only takes POST)."""
    return RedirectResponse(f"/login?next={quote(back)}", status_code=303)


async def follow_level(request: Request, target: str) -> str:
    """The viewer's level for ``target`` as the follow control shows it (``none`` if unset)."""
    viewer = await current_viewer(request)
    if viewer is None:
        return "none"
    level = await subscriptions.level_of(request.state.services, viewer=viewer, target=target)
    return level or "none"


async def unsubscribe(request: Request) -> Response:
    """GET shows a button (link checkers and previews must not unsubscribe anyone); POST, from
    that button or from the mail provider's one-click (``List-Unsubscribe=One-Click``), turns
    the digest off. The signed token is the only credential: no login."""
    services = request.state.services
    token = request.query_params.get("token", "")
    user_id = check_unsubscribe_token(services.settings.secret_key, token)
    if user_id is None:
        return await pages_of(request).render(
            request,
            "error.html",
            {"title": "Link not valid", "message": "This unsubscribe link is not one we sent."},
            status=400,
        )
    done = request.method == "POST" and await turn_digest_off(services, user_id=user_id)
    return await pages_of(request).render(
        request, "unsubscribe.html", {"title": "E-mail digest", "token": token, "done": done}
    )


routes = [
    Route("/notifications", notifications_page, methods=["GET"]),
    Route("/notifications/read", mark_all_read, methods=["POST"]),
    Route("/notifications/{id:int}", open_notification, methods=["GET"]),
    Route("/follow", follow, methods=["POST"]),
    Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
]
