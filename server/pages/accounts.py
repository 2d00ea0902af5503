"""Sign in, sign up, sign out and settings, as plain HTML forms."""

from __future__ import annotations

from typing import get_args

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.api.auth import (
    clear_session_cookie,
    current_principal,
    require_principal,
    set_session_cookie,
)
from server.domain.accounts import Stakeholder
from server.domain.errors import DomainError, RateLimited, Unauthorized
from server.domain.permissions import Viewer
from server.pages.rendering import html_errors, pages_of, read_form, safe_next
from server.services import accounts, subscriptions
from server.services.context import Services
from server.services.views import token_view


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@html_errors
async def login(request: Request) -> Response:
    services: Services = request.state.services
    pages = pages_of(request)
    if request.method == "GET":
        return await pages.render(
            request,
            "login.html",
            {"nav": "login", "next": safe_next(request.query_params.get("next")), "email": ""},
        )
    form = await read_form(request)
    target = safe_next(form.get("next"))
    try:
        _user, secret = await accounts.login(
            services,
            email=form.get("email", ""),
            password=form.get("password", ""),
            address=_address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except (Unauthorized, RateLimited) as error:
        response = await pages.render(
            request,
            "login.html",
            {
                "nav": "login",
                "next": target,
                "email": form.get("email", ""),
                "error": error.message,
            },
            status=429 if isinstance(error, RateLimited) else 401,
        )
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, services, secret)
    return response


@html_errors
async def signup(request: Request) -> Response:
    services: Services = request.state.services
    pages = pages_of(request)
    context = {"nav": "signup", "stakeholders": get_args(Stakeholder), "fields": {}, "form": {}}
    if request.method == "GET":
        return await pages.render(request, "signup.html", context)
    form = await read_form(request)
    stakeholder = form.get("stakeholder", "other")
    try:
        if stakeholder not in get_args(Stakeholder):
            raise DomainError("choose who you are from the list", fields={"stakeholder": "unknown"})
        user = await accounts.create_user(
            services,
            accounts.NewAccount(
                email=form.get("email", ""),
                password=form.get("password", ""),
                display_name=form.get("display_name", ""),
                handle=form.get("handle", ""),
                organization=form.get("organization", ""),
                stakeholder=stakeholder,  # type: ignore[arg-type]
                country=form.get("country") or None,
            ),
        )
    except DomainError as error:
        context |= {"error": error.message, "fields": error.fields, "form": form}
        return await pages.render(request, "signup.html", context, status=400)
    secret = await accounts.open_session(
        services,
        user=user,
        address=_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, services, secret)
    return response


async def logout(request: Request) -> Response:
    services: Services = request.state.services
    principal = await current_principal(request)
    if principal is not None and principal.session_id is not None:
        await accounts.logout(services, session_id=principal.session_id)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, services)
    return response


@html_errors
async def settings(request: Request) -> Response:
    services: Services = request.state.services
    principal = await require_principal(request)
    assert principal.user.id is not None
    context: dict[str, object] = {"nav": "settings", "asked": "asked" in request.query_params}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        try:
            await accounts.update_profile(
                services,
                user_id=principal.user.id,
                display_name=form.get("display_name"),
                organization=form.get("organization"),
                digest=_digest(form.get("digest")),
                language=form.get("language") or None,
            )
            context["saved"] = True
        except DomainError as error:
            context["error"] = error.message
            status = 400
        request.scope.pop("gnrp.principal", None)  # show the profile as now saved
    tokens = await accounts.list_tokens(services, user_id=principal.user.id)
    context["tokens"] = [token_view(token) for token in tokens]
    context |= await _following(services, principal.viewer)
    return await pages_of(request).render(request, "settings.html", context, status=status)


async def _following(services: Services, viewer: Viewer) -> dict[str, object]:
    """The settings page's follows, and the hour digests are due from."""
    return {
        "follows": await subscriptions.named_subscriptions_of(services, viewer=viewer),
        "digest_hour": services.settings.digest_hour,
    }


def _digest(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in ("off", "daily", "weekly"):
        raise DomainError("choose a digest frequency from the list", fields={"digest": "unknown"})
    return value


@html_errors
async def create_token(request: Request) -> Response:
    services: Services = request.state.services
    principal = await require_principal(request)
    assert principal.user.id is not None
    form = await read_form(request)
    _token, secret = await accounts.create_token(
        services, user_id=principal.user.id, name=form.get("name", "")
    )
    tokens = await accounts.list_tokens(services, user_id=principal.user.id)
    context = {
        "nav": "settings",
        "new_secret": secret,
        "tokens": [token_view(t) for t in tokens],
        **await _following(services, principal.viewer),
    }
    return await pages_of(request).render(request, "settings.html", context)


@html_errors
async def revoke_token(request: Request) -> Response:
    principal = await require_principal(request)
    assert principal.user.id is not None
    await accounts.revoke_token(
        request.state.services, user_id=principal.user.id, token_id=int(request.path_params["id"])
    )
    return RedirectResponse("/settings", status_code=303)


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/signup", signup, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/settings", settings, methods=["GET", "POST"]),
    Route("/settings/tokens", create_token, methods=["POST"]),
    Route("/settings/tokens/{id:int}/revoke", revoke_token, methods=["POST"]),
]
