"""Exception handlers: every error, 404 and 405 and crashes included, in the JSON error shape."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.api.responses import domain_error_response, error_response
from server.domain.errors import DomainError

log = logging.getLogger("gnrp.errors")

_CODE_OF_STATUS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


async def on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def on_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "invalid")
    message = {404: "no such page", 405: "method not allowed here"}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(code, message, status=exc.status_code, headers=exc.headers)


async def on_crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    return error_response("internal", "something went wrong on our side; it has been logged")


EXCEPTION_HANDLERS = {
    DomainError: on_domain_error,
    HTTPException: on_http_exception,
    Exception: on_crash,
}
