"""Request bodies of the HTTP API: strict (unknown fields and wrong types are refused)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.domain.accounts import DigestFrequency, Stakeholder
from server.domain.content import Theme, ThreadKind
from server.domain.permissions import Visibility


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignupBody(Strict):
    email: str
    password: str
    display_name: str
    handle: str
    organization: str = Field(default="", max_length=200)
    stakeholder: Stakeholder = "other"
    country: str | None = None


class LoginBody(Strict):
    email: str
    password: str


class ProfileBody(Strict):
    display_name: str | None = None
    organization: str | None = Field(default=None, max_length=200)
    country: str | None = None
    digest: DigestFrequency | None = None
    language: str | None = None


class TokenBody(Strict):
    name: str


class RoomBody(Strict):
    slug: str
    title: str
    description: str = Field(default="", max_length=5000)
    theme: Theme = "other"
    visibility: Visibility = "public"


class RoomChangesBody(Strict):
    title: str | None = None
    description: str | None = Field(default=None, max_length=5000)
    theme: Theme | None = None
    visibility: Visibility | None = None
    archived: bool | None = None


class ThreadBody(Strict):
    title: str
    body: str
    kind: ThreadKind = "discussion"
    countries: list[str] = Field(default_factory=list)


class MessageBody(Strict):
    body: str
    client_id: str | None = None


class EditBody(Strict):
    body: str


class PreviewBody(Strict):
    body: str
