"""Who a request acts for: the session cookie or an ``Authorization: Bearer`` API token."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from server.domain.errors import Unauthorized
from server.domain.permissions import Viewer
from server.services import accounts
from server.services.accounts import Principal
from server.services.context import Services

SESSION_COOKIE = "gnrp_session"
_UNSET = object()


def bearer_token(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


async def current_principal(connection: HTTPConnection) -> Principal | None:
    """Resolve once per request. A bearer token wins over a cookie; a bad token is a 401."""
    cached = connection.scope.get("gnrp.principal", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[no-any-return]
    services: Services = connection.state.services
    principal: Principal | None = None
    token = bearer_token(connection)
    if token is not None:
        principal = await accounts.principal_from_token(services, token)
        if principal is None:
            raise Unauthorized("this API token is not valid")
    elif cookie := connection.cookies.get(SESSION_COOKIE):
        principal = await accounts.principal_from_session(services, cookie)
    connection.scope["gnrp.principal"] = principal
    return principal


async def current_viewer(connection: HTTPConnection) -> Viewer | None:
    principal = await current_principal(connection)
    return principal.viewer if principal else None


async def require_principal(connection: HTTPConnection) -> Principal:
    principal = await current_principal(connection)
    if principal is None:
        raise Unauthorized("sign in first")
    return principal


def set_session_cookie(response: Response, services: Services, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=services.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, services: Services) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        path="/",
    )
