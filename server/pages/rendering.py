"""Templates, static files, and what every page needs: who is signed in, errors as pages."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from server.api.auth import current_principal
from server.domain.errors import DomainError, NotFound, RateLimited, TooLarge, Unauthorized
from server.domain.permissions import Viewer
from server.domain.streams import user_stream
from server.services.events import stream_head
from server.services.inbox import unread_count
from server.services.views import me_view

WEB_ROOT = Path(__file__).resolve().parent.parent.parent / "web"
Page = Callable[[Request], Awaitable[Response]]


class Pages:
    """The Jinja2 environment and the static files, with content-hashed URLs for caching."""

    def __init__(self, root: Path = WEB_ROOT) -> None:
        self.static_dir = root / "static"
        self.templates = Jinja2Templates(directory=str(root / "templates"))
        self.templates.env.globals["static"] = self.static_url
        self._hashes: dict[str, str] = {}

    def static_url(self, path: str) -> str:
        digest = self._hashes.get(path)
        if digest is None:
            digest = hashlib.sha256((self.static_dir / path).read_bytes()).hexdigest()[:10]
            self._hashes[path] = digest
        return f"/static/{path}?v={digest}"

    def static_app(self) -> StaticFiles:
        return StaticFiles(directory=str(self.static_dir))

    async def render(
        self, request: Request, template: str, context: dict[str, Any], *, status: int = 200
    ) -> Response:
        principal = await current_principal(request)
        me = me_view(principal.user) if principal else None
        full = {"me": me, "language": me["language"] if me else "en", **context}
        if principal is not None and "unread" not in full:  # a page may read them itself
            full |= await _unread(request, principal.viewer)
        return self.templates.TemplateResponse(request, template, full, status_code=status)


async def _unread(request: Request, viewer: Viewer) -> dict[str, int]:
    """The header's unread count, and the head of the viewer's stream for the live badge to
    follow from. The head is read first: a notification landing in between is then both
    counted and replayed (the badge takes the count an event carries), never missed."""
    services = request.state.services
    async with services.read() as session:
        head = await stream_head(session, stream=user_stream(viewer.user_id))
    return {"unread": await unread_count(services, viewer=viewer), "user_head": head}


def pages_of(request: Request) -> Pages:
    pages: Pages = request.state.pages
    return pages


def html_errors(page: Page) -> Page:
    """Errors on a page answer as a page: sign in first, not found, slow down."""

    @functools.wraps(page)
    async def wrapped(request: Request) -> Response:
        try:
            return await page(request)
        except Unauthorized:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        except NotFound as error:
            return await pages_of(request).render(
                request, "error.html", {"title": "Not found", "message": error.message}, status=404
            )
        except RateLimited as error:
            response = await pages_of(request).render(
                request, "error.html", {"title": "Slow down", "message": error.message}, status=429
            )
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except DomainError as error:
            return await pages_of(request).render(
                request,
                "error.html",
                {"title": "That did not work", "message": error.message},
                status=403 if error.code == "forbidden" else 400,
            )

    return wrapped


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def read_form(request: Request) -> dict[str, str]:
    limit = request.state.services.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body over {limit} bytes")
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}
