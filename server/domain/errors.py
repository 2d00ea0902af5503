"""Errors as values the user can act on: a stable code, a message, and the fields at fault.

The HTTP layer maps ``code`` to a status; the live layer sends the same code in an ``error`` frame.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class Invalid(DomainError):
    code = "invalid"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class TooLarge(DomainError):
    code = "too_large"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def invalid_field(name: str, message: str) -> Invalid:
    return Invalid(f"{name}: {message}", fields={name: message})
