"""Frames of the live protocol (SPEC section 3): what clients send, and the server's replies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Subscribe(_Frame):
    op: Literal["subscribe"]
    stream: str = Field(max_length=120)
    since: int | None = Field(default=None, ge=0)


class Unsubscribe(_Frame):
    op: Literal["unsubscribe"]
    stream: str = Field(max_length=120)


class Post(_Frame):
    op: Literal["post"]
    thread: int = Field(ge=1)
    body: str
    client_id: str = Field(min_length=1, max_length=64)


class Typing(_Frame):
    op: Literal["typing"]
    thread: int = Field(ge=1)


class Ping(_Frame):
    op: Literal["ping"]


ClientFrame = Annotated[Subscribe | Unsubscribe | Post | Typing | Ping, Field(discriminator="op")]
client_frame = TypeAdapter(ClientFrame)


def error_frame(code: str, message: str, op: str | None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "op": op}
