"""Pure ASGI middleware: allowed hosts, same-origin writes, security headers, access log."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.responses import error_response
from server.settings import Settings

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
access_log = logging.getLogger("gnrp.access")


class AllowedHostsMiddleware:
    """Refuse requests whose ``Host`` is not one of ALLOWED_HOSTS (``*`` allows any).

    Health checks are exempt: probes call them by address, and they reveal nothing.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.allow_any = "*" in settings.allowed_hosts
        self.hosts = frozenset(settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exempt = scope["type"] == "http" and scope["path"] in HEALTH_PATHS
        if scope["type"] in ("http", "websocket") and not self.allow_any and not exempt:
            host = Headers(scope=scope).get("host", "").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.hosts:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = error_response("invalid", "unknown host", fields={"host": "not allowed"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SameOriginMiddleware:
    """Unsafe requests authenticated by cookie must come from the site itself.

    A browser sends ``Origin`` with every cross-site POST; when it does not (older browsers, some
    same-origin navigations) ``Sec-Fetch-Site: same-origin`` is accepted instead. Bearer-token
    requests are exempt: a browser never attaches those by itself. So are the ``token_paths``,
    which act only on the signed token in their URL, never on the cookie (the one-click
    unsubscribe, which mail providers POST from anywhere).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        cookie_name: str,
        token_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.trusted = settings.trusted_origins
        self.cookie_name = cookie_name
        self.token_paths = frozenset(token_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and scope["path"] not in self.token_paths
        ):
            headers = Headers(scope=scope)
            if not headers.get("authorization", "").lower().startswith("bearer "):
                origin = headers.get("origin")
                has_cookie = f"{self.cookie_name}=" in headers.get("cookie", "")
                if origin is not None:
                    allowed = origin.lower() in self.trusted
                else:
                    allowed = not has_cookie or headers.get("sec-fetch-site") == "same-origin"
                if not allowed:
                    response = error_response("forbidden", "cross-site request refused")
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLogMiddleware:
    """One structured log line per request, with a request id also returned to the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
