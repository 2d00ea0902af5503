"""SQLModel tables of SPEC section 2 (as far as built) and the event log of section 1."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.db.types import UTCDateTime

# Named constraints, so that later migrations (SQLite batch mode included) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # lower-cased: unique whatever the case
    password_hash: str = Field(max_length=255)
    display_name: str = Field(max_length=80)
    handle: str = Field(max_length=30, unique=True)
    organization: str = Field(default="", max_length=200)
    stakeholder: str = Field(default="other", max_length=20)
    country: str | None = Field(default=None, max_length=2)
    role: str = Field(default="member", max_length=10)
    expert: bool = False
    digest: str = Field(default="daily", max_length=6)
    language: str = Field(default="en", max_length=12)
    disabled: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AuthSession(SQLModel, table=True):
    """A browser session. The cookie holds a random secret; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class ApiToken(SQLModel, table=True):
    """A script's credential; the secret is shown once and only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Room(SQLModel, table=True):
    __tablename__ = "rooms"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=120)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    theme: str = Field(max_length=20)
    visibility: str = Field(max_length=10)
    archived: bool = False
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Thread(SQLModel, table=True):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_room_activity", "room_id", "last_activity_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="rooms.id")
    title: str = Field(max_length=200)
    kind: str = Field(max_length=10)
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pinned_message_id: int | None = None
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_activity_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    message_count: int = 0


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        # Posting twice with one client_id stores one message.
        UniqueConstraint("author_id", "client_id", name="uq_messages_author_client_id"),
        Index("ix_messages_thread_id_id", "thread_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="threads.id")
    author_id: int = Field(foreign_key="users.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    client_id: str | None = Field(default=None, max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))  # of its message.created event
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    edited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    hidden: bool = False
    hidden_reason: str | None = Field(default=None, max_length=500)
    hidden_by: int | None = Field(default=None, foreign_key="users.id")


class MessageRevision(SQLModel, table=True):
    """An earlier body of an edited message, kept for the edit history."""

    __tablename__ = "message_revisions"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    written_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    replaced_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    replaced_by: int = Field(foreign_key="users.id")


class AuditEntry(SQLModel, table=True):
    """A moderator's or admin's action. Append-only and hash-chained: each entry carries the hash
    of the one before (``prev_hash``) and its own, over its fields and that previous hash."""

    __tablename__ = "audit_entries"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)  # position in the chain, gap-free from 1
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    action: str = Field(max_length=40, index=True)
    target_type: str = Field(max_length=20)
    target_id: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StreamHead(SQLModel, table=True):
    """The last seq of a stream; its row is locked while an event is appended."""

    __tablename__ = "stream_heads"

    stream: str = Field(primary_key=True, max_length=100)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class Event(SQLModel, table=True):
    """The event log: one row per affected stream per change, gap-free ``seq`` per stream."""

    __tablename__ = "events"

    stream: str = Field(primary_key=True, max_length=100)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Initiative(SQLModel, table=True):
    """A country measure. Its history is its timeline of ``InitiativeEntry`` rows."""

    __tablename__ = "initiatives"
    __table_args__ = (Index("ix_initiatives_country_id", "country", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    country: str = Field(max_length=2)
    title: str = Field(max_length=200)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    summary_html: str = Field(sa_column=Column(Text, nullable=False))
    theme: str = Field(max_length=20, index=True)
    stakeholder: str = Field(max_length=20)
    instrument: str = Field(max_length=10)
    status: str = Field(max_length=10, index=True)
    phase: str = Field(max_length=12)
    announced_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = Field(default=None, index=True)
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="en", max_length=12)
    verification: str = Field(default="unverified", max_length=10, index=True)
    verified_by: int | None = Field(default=None, foreign_key="users.id")
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    verification_note: str = Field(default="", max_length=1000)
    thread_id: int | None = Field(default=None, foreign_key="threads.id")
    # Title, summary and timeline notes, indexed for full-text search (server/db/search.py).
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The end date followers were last told is near: "ending soon" is said once per date.
    ending_notified_on: date | None = None
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class InitiativeEntry(SQLModel, table=True):
    """One step of an initiative's timeline; an edit keeps the values it replaced."""

    __tablename__ = "initiative_entries"

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiatives.id", index=True)
    kind: str = Field(max_length=12)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    effective_on: date | None = None
    replaced: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Subscription(SQLModel, table=True):
    """A user following a room, a country or a thread, at level live, digest or mute."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "target", name="uq_subscriptions_user_target"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    target: str = Field(max_length=100, index=True)  # room:<slug>, country:<CC>, thread:<id>
    level: str = Field(max_length=6)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Flag(SQLModel, table=True):
    """A member's report of a message, waiting for a moderator until resolved."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("message_id", "user_id", name="uq_flags_message_user"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    reason: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolution: str | None = Field(default=None, max_length=10)
    resolved_by: int | None = Field(default=None, foreign_key="users.id")


class RegulatorRequest(SQLModel, table=True):
    """A member asking to be verified as staff of a regulator or ministry."""

    __tablename__ = "regulator_requests"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    organization: str = Field(max_length=200)
    country: str = Field(max_length=2)
    note: str = Field(default="", max_length=1000)
    status: str = Field(default="pending", max_length=10, index=True)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Notification(SQLModel, table=True):
    """Something a user is told about: in the app (``in_app``) and in their next e-mail digest.

    What it points at is copied in (title, excerpt, url) so that lists and digests need no joins;
    ``room_id`` is kept so that a room one can no longer read drops out of both."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_user_id_digest_id", "user_id", "digest_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=16)  # mention, reply, answer_pinned, initiative, thread
    reason: str = Field(default="", max_length=12)  # initiatives: created, updated, verified…
    in_app: bool = True  # False when it comes from a digest-only follow
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    room_id: int | None = Field(default=None, foreign_key="rooms.id")
    thread_id: int | None = None
    message_id: int | None = None
    initiative_id: int | None = None
    country: str | None = Field(default=None, max_length=2)
    title: str = Field(max_length=200)
    excerpt: str = Field(default="", max_length=300)
    url: str = Field(max_length=300)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    digest_id: int | None = Field(default=None, foreign_key="digests.id")


class Digest(SQLModel, table=True):
    """One user's e-mail digest for one period (``2026-12-03`` daily, ``2026-W49`` weekly).

    The unique (user, period) row is the claim: whoever inserts it sends that period's digest, and
    the notifications it carries are attached to it in the same transaction, so that a resend
    after a crash carries the same ones under the same Message-ID."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("user_id", "period", name="uq_digests_user_period"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    period: str = Field(max_length=10)
    status: str = Field(default="claimed", max_length=8)  # claimed, sent, empty, failed
    message_id: str = Field(max_length=200)
    attempts: int = 1
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lease_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str = Field(default="", max_length=500)
