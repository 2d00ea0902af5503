"""Request bodies of the HTTP API: strict (unknown fields and wrong types are refused)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.domain.accounts import DigestFrequency, Stakeholder
from server.domain.content import Theme, ThreadKind
from server.domain.initiatives import Instrument, Phase, Status, Verification
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


class InitiativeBody(Strict):
    country: str = Field(max_length=10)
    title: str
    summary: str
    theme: Theme
    stakeholder: Stakeholder
    instrument: Instrument
    status: Status
    phase: Phase
    # Dates arrive as "YYYY-MM-DD" strings: parsed, not strict.
    announced_on: date | None = Field(default=None, strict=False)
    starts_on: date | None = Field(default=None, strict=False)
    ends_on: date | None = Field(default=None, strict=False)
    sources: list[str] = Field(default_factory=list)
    language: str = Field(default="en", max_length=12)


class InitiativeChangesBody(Strict):
    kind: Literal["update", "correction"] = "update"
    note: str = Field(default="", max_length=2000)
    title: str | None = None
    summary: str | None = None
    theme: Theme | None = None
    stakeholder: Stakeholder | None = None
    instrument: Instrument | None = None
    status: Status | None = None
    phase: Phase | None = None
    announced_on: date | None = Field(default=None, strict=False)
    starts_on: date | None = Field(default=None, strict=False)
    ends_on: date | None = Field(default=None, strict=False)
    sources: list[str] | None = None
    language: str | None = Field(default=None, max_length=12)


class EntryBody(Strict):
    kind: Literal["update", "correction", "extension", "ended"]
    note: str = Field(default="", max_length=2000)
    effective_on: date | None = Field(default=None, strict=False)


class VerificationBody(Strict):
    state: Verification
    note: str = Field(default="", max_length=1000)


class SubscriptionBody(Strict):
    level: Literal["live", "digest", "mute"]


class MarkReadBody(Strict):
    """``{"ids": [1, 2]}`` or ``{"all": true}``: one or the other."""

    ids: list[int] | None = Field(default=None, max_length=500)
    all: bool = False

    @model_validator(mode="after")
    def one_of_ids_or_all(self) -> MarkReadBody:
        if (self.ids is None) == (not self.all):
            raise ValueError('send "ids" (a list of notification ids) or "all": true')
        return self


class PinBody(Strict):
    message_id: int


class ReasonBody(Strict):
    reason: str = Field(max_length=500)


class FlagBody(Strict):
    reason: Literal["spam", "off-topic", "inappropriate", "misinformation", "other"]
    note: str = Field(default="", max_length=500)


class ResolveBody(Strict):
    action: Literal["hide", "dismiss"]
    reason: str = Field(default="", max_length=500)


class AccountChangesBody(Strict):
    role: Literal["member", "regulator", "moderator", "admin"] | None = None
    expert: bool | None = None
    disabled: bool | None = None
    reason: str = Field(default="", max_length=500)


class VerificationRequestBody(Strict):
    organization: str = Field(max_length=200)
    country: str = Field(max_length=10)
    note: str = Field(default="", max_length=1000)


class DecisionBody(Strict):
    decision: Literal["approve", "refuse"]
    reason: str = Field(default="", max_length=500)
