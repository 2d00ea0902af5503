"""E-mail digests in the database: which are due, the (user, period) claim, what a digest holds,
and marking it sent or failed. Sending is the worker's (workers/digests.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, exists, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import and_, col, or_, select

from server.db.models import Digest, Initiative, Notification, Room, Subscription, Thread, User
from server.domain.digest import (
    CADENCES,
    LOOKBACK,
    Cadence,
    DigestItem,
    EndingMeasure,
    digest_message_id,
    due_period,
)
from server.domain.notifications import ENDING_WITHIN_DAYS
from server.domain.permissions import Viewer, readable_visibilities
from server.services.context import Services
from server.services.countries import countries


@dataclass(frozen=True, slots=True)
class DueDigest:
    user_id: int
    period: str


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to send one digest. ``resumed`` when an earlier attempt claimed it and may
    have sent it: the resend carries the same notifications under the same Message-ID."""

    digest_id: int
    message_id: str
    resumed: bool
    empty: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    email: str
    display_name: str
    cadence: Cadence


@dataclass(frozen=True, slots=True)
class DigestContent:
    recipient: Recipient
    items: list[DigestItem]
    ending: list[EndingMeasure]


ClaimOutcome = Claim | Literal["done", "busy", "off"]


def _cadence_of(period: str) -> Cadence:
    return "weekly" if "-W" in period else "daily"


def _undigested(user_id: int, since: datetime) -> list[ColumnElement[bool]]:
    return [
        col(Notification.user_id) == user_id,
        col(Notification.digest_id).is_(None),
        col(Notification.read_at).is_(None),
        col(Notification.created_at) >= since,
    ]


async def due_digests(services: Services, *, now: datetime) -> list[DueDigest]:
    """Users whose daily or weekly digest is due and who have something new, without a digest
    for this period yet; and digests claimed by an attempt that died (its lease ran out)."""
    hour = services.settings.digest_hour
    due: list[DueDigest] = []
    async with services.read() as session:
        for cadence in CADENCES:
            period = due_period(cadence, now, hour=hour).key
            news = exists().where(
                col(Notification.user_id) == col(User.id),
                col(Notification.digest_id).is_(None),
                col(Notification.read_at).is_(None),
                col(Notification.created_at) >= now - LOOKBACK,
            )
            claimed = exists().where(
                col(Digest.user_id) == col(User.id), col(Digest.period) == period
            )
            ids = (
                await session.exec(
                    select(User.id)
                    .where(User.digest == cadence, ~col(User.disabled), news, ~claimed)
                    .order_by(col(User.id))
                )
            ).all()
            due += [DueDigest(user_id, period) for user_id in ids if user_id is not None]
        # Claimed by an attempt that died and whose job is gone too (the embedded scheduler
        # keeps its queue in memory): sent, or resent, now. Any recent period, not only this one.
        stale = (
            await session.exec(
                select(Digest.user_id, Digest.period).where(
                    Digest.status == "claimed",
                    col(Digest.lease_until) <= now,
                    col(Digest.claimed_at) >= now - LOOKBACK,
                )
            )
        ).all()
        due += [DueDigest(user_id, period) for user_id, period in stale]
    return due


async def claim_digest(services: Services, *, user_id: int, period: str) -> ClaimOutcome:
    """Claim the (user, period) digest: insert its unique row and attach the notifications it
    will carry, in one transaction. ``done`` when it was sent (or had nothing) already, ``busy``
    while another attempt holds a live lease, ``off`` when the user no longer wants digests."""
    settings = services.settings
    try:
        async with services.write() as tx:
            user = await tx.session.get(User, user_id)
            if user is None or user.disabled or user.digest != _cadence_of(period):
                # Turned off since an earlier attempt claimed it: its copy is not resent.
                await tx.session.exec(
                    update(Digest)
                    .where(
                        col(Digest.user_id) == user_id,
                        col(Digest.period) == period,
                        col(Digest.status) == "claimed",
                    )
                    .values(status="failed", error="digests were turned off before it was sent")
                )
                return "off"
            digest = Digest(
                user_id=user_id,
                period=period,
                message_id=digest_message_id(
                    settings.secret_key, user_id=user_id, period=period, domain=settings.mail_domain
                ),
                claimed_at=tx.now,
                lease_until=tx.now + timedelta(seconds=settings.worker_job_timeout),
            )
            tx.session.add(digest)
            await tx.session.flush()
            attached = await tx.session.exec(
                update(Notification)
                .where(*_undigested(user_id, tx.now - LOOKBACK))
                .values(digest_id=digest.id)
            )
            if attached.rowcount == 0:
                digest.status = "empty"  # nothing new: nothing is sent, and the period is done
                tx.session.add(digest)
            assert digest.id is not None
            return Claim(digest.id, digest.message_id, resumed=False, empty=attached.rowcount == 0)
    except IntegrityError:
        pass  # claimed before: by an attempt that died, or one still running
    async with services.write() as tx:
        digest = (
            await tx.session.exec(
                select(Digest).where(Digest.user_id == user_id, Digest.period == period)
            )
        ).one()
        if digest.status != "claimed":
            return "done"
        # Taken over only once the earlier attempt's lease has run out (or it gave it back).
        taken = await tx.session.exec(
            update(Digest)
            .where(
                col(Digest.id) == digest.id,
                col(Digest.status) == "claimed",
                col(Digest.lease_until) <= tx.now,
            )
            .values(
                attempts=col(Digest.attempts) + 1,
                lease_until=tx.now + timedelta(seconds=settings.worker_job_timeout),
            )
        )
        if taken.rowcount != 1:
            return "busy"
        assert digest.id is not None
        return Claim(digest.id, digest.message_id, resumed=True, empty=False)


async def digest_content(
    services: Services, *, user_id: int, digest_id: int | None, now: datetime
) -> DigestContent | None:
    """What a digest says: its notifications (those attached to ``digest_id``, or for a preview
    those not yet mailed) and the measures ending within 14 days in followed countries. A fixed
    number of queries, however many notifications there are."""
    async with services.read() as session:
        user = await session.get(User, user_id)
        if user is None:
            return None
        viewer = Viewer(user_id, user.role)  # type: ignore[arg-type]
        carried = (
            # With the user: the (user_id, digest_id) index finds them without a scan.
            [col(Notification.user_id) == user_id, col(Notification.digest_id) == digest_id]
            if digest_id is not None
            else _undigested(user_id, now - LOOKBACK)
        )
        rows = (
            await session.exec(
                select(Notification, Room.title, Thread.title, User.display_name)
                .outerjoin(Room, col(Room.id) == col(Notification.room_id))
                .outerjoin(Thread, col(Thread.id) == col(Notification.thread_id))
                .outerjoin(User, col(User.id) == col(Notification.actor_id))
                .where(
                    *carried,
                    or_(
                        col(Notification.room_id).is_(None),
                        col(Room.visibility).in_(readable_visibilities(viewer)),
                    ),
                )
                .order_by(col(Notification.id))
            )
        ).all()
        today = now.date()
        ending_rows = (
            await session.exec(
                select(Initiative)
                .join(
                    Subscription,
                    and_(
                        col(Subscription.target) == "country:" + col(Initiative.country),
                        col(Subscription.user_id) == user_id,
                        col(Subscription.level).in_(["live", "digest"]),
                    ),
                )
                .where(
                    col(Initiative.ends_on) >= today,
                    col(Initiative.ends_on) <= today + timedelta(days=ENDING_WITHIN_DAYS),
                    col(Initiative.status) != "ended",
                )
                .order_by(col(Initiative.ends_on), col(Initiative.id))
            )
        ).all()
    names = countries()
    items = [
        DigestItem(
            kind=n.kind,
            reason=n.reason,
            title=n.title,
            excerpt=n.excerpt,
            url=n.url,
            actor=actor,
            created_at=n.created_at,
            country=names[n.country].name if n.country in names else n.country,
            room=room,
            thread=thread,
        )
        for n, room, thread, actor in rows
    ]
    ending = [
        EndingMeasure(
            title=i.title,
            country=names[i.country].name if i.country in names else i.country,
            ends_on=i.ends_on,
            url=f"/initiatives/{i.id}",
        )
        for i in ending_rows
        if i.ends_on is not None
    ]
    recipient = Recipient(user_id, user.email, user.display_name, _cadence_of_user(user))
    return DigestContent(recipient, items, ending)


def _cadence_of_user(user: User) -> Cadence:
    return "weekly" if user.digest == "weekly" else "daily"


async def _finish(services: Services, *, digest_id: int, status: str, error: str = "") -> None:
    async with services.write() as tx:
        values: dict[str, object] = {"status": status, "error": error[:500]}
        if status == "sent":
            values["sent_at"] = tx.now
        await tx.session.exec(update(Digest).where(col(Digest.id) == digest_id).values(values))


async def mark_sent(services: Services, *, digest_id: int) -> None:
    await _finish(services, digest_id=digest_id, status="sent")


async def mark_empty(services: Services, *, digest_id: int) -> None:
    """Nothing to say after all: the period is done, and nothing is sent."""
    await _finish(services, digest_id=digest_id, status="empty")


async def mark_failed(services: Services, *, digest_id: int, reason: str) -> None:
    """The server refused for good: the period is not retried. Its notifications stay in the app."""
    await _finish(services, digest_id=digest_id, status="failed", error=reason)


async def release(services: Services, *, digest_id: int, reason: str) -> None:
    """Give the lease back after a temporary failure, so that the retry may resume at once."""
    async with services.write() as tx:
        await tx.session.exec(
            update(Digest)
            .where(col(Digest.id) == digest_id, col(Digest.status) == "claimed")
            .values(lease_until=tx.now, error=reason[:500])
        )


async def turn_digest_off(services: Services, *, user_id: int) -> bool:
    """The one-click unsubscribe. True if the user exists (whether or not it was on)."""
    async with services.write() as tx:
        result = await tx.session.exec(
            update(User).where(col(User.id) == user_id).values(digest="off")
        )
    return bool(result.rowcount)
