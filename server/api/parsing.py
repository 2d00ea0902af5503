"""Reading requests: bounded JSON bodies checked against strict models, and query parameters."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from server.domain.errors import Invalid, TooLarge, invalid_field

Body = TypeVar("Body", bound=BaseModel)


async def read_body(request: Request, model: type[Body]) -> Body:
    """The request body as ``model``: at most MAX_BODY_BYTES, JSON, no unknown fields."""
    limit = request.state.services.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise Invalid("the body is not valid JSON", fields={"body": "not valid JSON"}) from None
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object", fields={"body": "must be an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "body"
            fields.setdefault(name, _describe(error["type"], error["msg"]))
        raise Invalid("some fields are not right", fields=fields) from None


def _describe(kind: str, message: str) -> str:
    return "unknown field" if kind == "extra_forbidden" else message


def query_int(
    request: Request, name: str, *, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_field(name, "must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise invalid_field(name, f"must be {bound}")
    return value


def path_int(request: Request, name: str) -> int:
    return int(request.path_params[name])
