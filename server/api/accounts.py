"""Signup, sign-in, sign-out, the profile, and API tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.auth import (
    clear_session_cookie,
    current_principal,
    require_principal,
    set_session_cookie,
)
from server.api.parsing import path_int, read_body
from server.api.responses import JSONResponse
from server.api.schemas import LoginBody, ProfileBody, SignupBody, TokenBody
from server.services import accounts
from server.services.context import Services
from server.services.views import me_view, token_view


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def signup(request: Request) -> Response:
    services: Services = request.state.services
    body = await read_body(request, SignupBody)
    user = await accounts.create_user(
        services,
        accounts.NewAccount(
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            handle=body.handle,
            organization=body.organization,
            stakeholder=body.stakeholder,
            country=body.country,
        ),
    )
    secret = await accounts.open_session(
        services,
        user=user,
        address=_client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = JSONResponse({"user": me_view(user)}, status_code=201)
    set_session_cookie(response, services, secret)
    return response


async def login(request: Request) -> Response:
    services: Services = request.state.services
    body = await read_body(request, LoginBody)
    user, secret = await accounts.login(
        services,
        email=body.email,
        password=body.password,
        address=_client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = JSONResponse({"user": me_view(user)})
    set_session_cookie(response, services, secret)
    return response


async def logout(request: Request) -> Response:
    services: Services = request.state.services
    principal = await current_principal(request)
    if principal is not None and principal.session_id is not None:
        await accounts.logout(services, session_id=principal.session_id)
    response = Response(status_code=204)
    clear_session_cookie(response, services)
    return response


async def get_me(request: Request) -> Response:
    principal = await require_principal(request)
    return JSONResponse({"user": me_view(principal.user)})


async def patch_me(request: Request) -> Response:
    principal = await require_principal(request)
    body = await read_body(request, ProfileBody)
    assert principal.user.id is not None
    user = await accounts.update_profile(
        request.state.services,
        user_id=principal.user.id,
        display_name=body.display_name,
        organization=body.organization,
        country=body.country,
        digest=body.digest,
        language=body.language,
    )
    return JSONResponse({"user": me_view(user)})


async def create_token(request: Request) -> Response:
    principal = await require_principal(request)
    body = await read_body(request, TokenBody)
    assert principal.user.id is not None
    token, secret = await accounts.create_token(
        request.state.services, user_id=principal.user.id, name=body.name
    )
    return JSONResponse({"token": {**token_view(token), "secret": secret}}, status_code=201)


async def list_tokens(request: Request) -> Response:
    principal = await require_principal(request)
    assert principal.user.id is not None
    tokens = await accounts.list_tokens(request.state.services, user_id=principal.user.id)
    return JSONResponse({"tokens": [token_view(token) for token in tokens]})


async def delete_token(request: Request) -> Response:
    principal = await require_principal(request)
    assert principal.user.id is not None
    await accounts.revoke_token(
        request.state.services, user_id=principal.user.id, token_id=path_int(request, "id")
    )
    return Response(status_code=204)


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", get_me, methods=["GET"]),
    Route("/api/me", patch_me, methods=["PATCH"]),
    Route("/api/tokens", create_token, methods=["POST"]),
    Route("/api/tokens", list_tokens, methods=["GET"]),
    Route("/api/tokens/{id:int}", delete_token, methods=["DELETE"]),
]
