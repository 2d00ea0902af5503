"""Pages for notifications: the one-click digest unsubscribe (RFC 8058) linked from every digest."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.digest import check_unsubscribe_token
from server.pages.rendering import pages_of
from server.services.digests import turn_digest_off


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
    Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
]
