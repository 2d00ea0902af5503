"""Making notifications: inside the transaction of the change that causes them, for whoever
follows it (or is mentioned) and may read it, pushed live on ``user:<id>`` once it commits.
Reading them is server/services/inbox.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Initiative, Message, Notification, Room, Subscription, Thread, User
from server.domain.notifications import (
    ENDING_WITHIN_DAYS,
    excerpt,
    mentioned_handles,
    most_specific_level,
)
from server.domain.permissions import Viewer, can_read_room
from server.domain.streams import user_stream
from server.services.context import Services, Transaction
from server.services.inbox import notification_view, unread_counts
from server.services.views import author_view

HIDDEN_EXCERPT = "Hidden by a moderator."


@dataclass(frozen=True, slots=True)
class Notice:
    """What one change tells its recipients; each gets a row of their own."""

    kind: str
    title: str
    url: str
    actor: User | None
    excerpt: str = ""
    reason: str = ""
    room_id: int | None = None
    thread_id: int | None = None
    message_id: int | None = None
    initiative_id: int | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Follower:
    user_id: int
    role: str
    digest: str
    disabled: bool
    levels: dict[str, str]  # target -> level, for the targets asked about


async def notify_new_thread(
    tx: Transaction, *, thread: Thread, room: Room, message: Message, author: User
) -> None:
    """Followers of the room hear of the thread; people @-mentioned in its first message hear
    of the mention instead. The author now follows the thread."""
    assert thread.id is not None and author.id is not None
    await follow_on_post(tx, user_id=author.id, thread_id=thread.id)
    mentioned = await _notify_mentions(tx, thread=thread, room=room, message=message, author=author)
    followers = await _followers(tx.session, targets=[f"room:{room.slug}"])
    notice = Notice(
        kind="thread",
        title=thread.title,
        url=f"/threads/{thread.id}",
        actor=author,
        excerpt=excerpt(message.body),
        room_id=room.id,
        thread_id=thread.id,
        message_id=message.id,
    )
    target = f"room:{room.slug}"
    recipients = {
        f.user_id: f.levels[target] == "live"
        for f in followers
        if f.user_id != author.id
        and f.user_id not in mentioned
        and f.levels.get(target) in ("live", "digest")
        and _may_read(f, room)
    }
    await _deliver(tx, notice, recipients, followers)


async def notify_new_message(
    tx: Transaction, *, thread: Thread, room: Room, message: Message, author: User
) -> None:
    """Mentions, then replies to everyone following the thread. Posting follows the thread."""
    assert thread.id is not None and author.id is not None
    await follow_on_post(tx, user_id=author.id, thread_id=thread.id)
    mentioned = await _notify_mentions(tx, thread=thread, room=room, message=message, author=author)
    target = f"thread:{thread.id}"
    followers = await _followers(tx.session, targets=[target])
    notice = Notice(
        kind="reply",
        title=thread.title,
        url=f"/threads/{thread.id}#m{message.id}",
        actor=author,
        excerpt=excerpt(message.body),
        room_id=room.id,
        thread_id=thread.id,
        message_id=message.id,
    )
    recipients = {
        f.user_id: f.levels[target] == "live"
        for f in followers
        if f.user_id != author.id
        and f.user_id not in mentioned
        and f.levels.get(target) in ("live", "digest")
        and _may_read(f, room)
    }
    await _deliver(tx, notice, recipients, followers)


async def notify_answer_pinned(
    tx: Transaction,
    *,
    thread: Thread,
    room: Room,
    message: Message,
    author: User,
    moderator_id: int,
) -> None:
    """Everyone taking part in the thread (following it) hears that it has an answer."""
    assert thread.id is not None
    target = f"thread:{thread.id}"
    followers = await _followers(tx.session, targets=[target])
    notice = Notice(
        kind="answer_pinned",
        title=thread.title,
        url=f"/threads/{thread.id}#m{message.id}",
        actor=author,
        excerpt=excerpt(message.body),
        room_id=room.id,
        thread_id=thread.id,
        message_id=message.id,
    )
    recipients = {
        f.user_id: f.levels[target] == "live"
        for f in followers
        if f.user_id != moderator_id
        and f.levels.get(target) in ("live", "digest")
        and _may_read(f, room)
    }
    await _deliver(tx, notice, recipients, followers)


async def notify_initiative(
    tx: Transaction, *, initiative: Initiative, reason: str, actor: User | None
) -> None:
    """Followers of the initiative's country hear that it is new, updated, verified, disputed
    or ending soon. Initiatives are public, so every follower may read them."""
    target = f"country:{initiative.country}"
    followers = await _followers(tx.session, targets=[target])
    what = {
        "created": excerpt(initiative.summary),
        "updated": "Updated. " + excerpt(initiative.summary),
        "verified": "Verified by the moderators.",
        "disputed": "Disputed: the moderators question this record.",
        "ending": f"Ends on {initiative.ends_on.isoformat() if initiative.ends_on else '?'}.",
    }[reason]
    notice = Notice(
        kind="initiative",
        reason=reason,
        title=initiative.title,
        url=f"/initiatives/{initiative.id}",
        actor=actor,
        excerpt=excerpt(what),
        initiative_id=initiative.id,
        country=initiative.country,
    )
    recipients = {
        f.user_id: f.levels[target] == "live"
        for f in followers
        if (actor is None or f.user_id != actor.id)
        and f.levels.get(target) in ("live", "digest")
        and not f.disabled
    }
    await _deliver(tx, notice, recipients, followers)


async def notify_ending_initiatives(services: Services) -> int:
    """Tell followers, once per end date, about measures ending within 14 days. Run by the
    digest cron; returns how many measures were announced."""
    today = services.clock().date()
    async with services.read() as session:
        ids = (
            await session.exec(
                select(Initiative.id).where(
                    col(Initiative.ends_on) >= today,
                    col(Initiative.ends_on) <= today + timedelta(days=ENDING_WITHIN_DAYS),
                    col(Initiative.status) != "ended",
                    or_(
                        col(Initiative.ending_notified_on).is_(None),
                        col(Initiative.ending_notified_on) != col(Initiative.ends_on),
                    ),
                )
            )
        ).all()
    announced = 0
    for initiative_id in ids:
        async with services.write() as tx:
            # Claimed by a conditional update, so that two cron runs announce a measure once.
            claimed = await tx.session.exec(
                update(Initiative)
                .where(
                    col(Initiative.id) == initiative_id,
                    or_(
                        col(Initiative.ending_notified_on).is_(None),
                        col(Initiative.ending_notified_on) != col(Initiative.ends_on),
                    ),
                )
                .values(ending_notified_on=col(Initiative.ends_on))
            )
            if claimed.rowcount != 1:
                continue
            initiative = await tx.session.get(Initiative, initiative_id)
            assert initiative is not None
            await notify_initiative(tx, initiative=initiative, reason="ending", actor=None)
            announced += 1
    return announced


async def excerpt_follows_hiding(tx: Transaction, *, message: Message) -> None:
    """A hidden message's words leave the notices (and unsent digests) that quote it; they come
    back when it is restored."""
    shown = HIDDEN_EXCERPT if message.hidden else excerpt(message.body)
    await tx.session.exec(
        update(Notification)
        .where(col(Notification.message_id) == message.id)
        .values(excerpt=shown[:300])
    )


async def follow_on_post(tx: Transaction, *, user_id: int, thread_id: int) -> None:
    """Taking part follows the thread, unless the user has already chosen a level for it."""
    dialect = tx.session.bind.dialect.name if tx.session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await tx.session.exec(
        insert(Subscription)
        .values(
            user_id=user_id,
            target=f"thread:{thread_id}",
            level="live",
            created_at=tx.now,
            updated_at=tx.now,
        )
        .on_conflict_do_nothing()
    )


async def notify_mentions_added(
    tx: Transaction, *, thread: Thread, room: Room, message: Message, author: User, before: str
) -> None:
    """An edit that adds an @-mention tells the newly mentioned, and only them."""
    await _notify_mentions(
        tx, thread=thread, room=room, message=message, author=author,
        told=set(mentioned_handles(before)),
    )  # fmt: skip


async def _notify_mentions(
    tx: Transaction,
    *,
    thread: Thread,
    room: Room,
    message: Message,
    author: User,
    told: set[str] | None = None,
) -> set[int]:
    """Notify the @-mentioned users who can read the room and have not muted it or the thread
    (leaving out the handles already ``told``). Returns everyone mentioned (notified or not), so
    that they get no second notice of one message."""
    handles = [h for h in mentioned_handles(message.body) if h not in (told or set())]
    if not handles:
        return set()
    users = (
        await tx.session.exec(
            select(User).where(col(User.handle).in_(handles), col(User.id) != author.id)
        )
    ).all()
    if not users:
        return set()
    targets = [f"thread:{thread.id}", f"room:{room.slug}"]
    levels = await _levels(tx.session, user_ids=[u.id for u in users if u.id], targets=targets)
    recipients: dict[int, bool] = {}
    for user in users:
        assert user.id is not None
        readable = not user.disabled and can_read_room(
            Viewer(user.id, user.role),  # type: ignore[arg-type]
            room.visibility,
        )
        chosen = most_specific_level(levels.get(user.id, {}).get(t) for t in targets)
        if readable and chosen != "mute":
            recipients[user.id] = True  # a mention is personal: always in the app
    notice = Notice(
        kind="mention",
        title=thread.title,
        url=f"/threads/{thread.id}#m{message.id}",
        actor=author,
        excerpt=excerpt(message.body),
        room_id=room.id,
        thread_id=thread.id,
        message_id=message.id,
    )
    followers = [Follower(u.id, u.role, u.digest, u.disabled, {}) for u in users if u.id]
    await _deliver(tx, notice, recipients, followers)
    return {u.id for u in users if u.id is not None}


async def _followers(session: AsyncSession, *, targets: Sequence[str]) -> list[Follower]:
    rows = (
        await session.exec(
            select(Subscription, User)
            .join(User, col(User.id) == col(Subscription.user_id))
            .where(col(Subscription.target).in_(targets))
        )
    ).all()
    found: dict[int, Follower] = {}
    for subscription, user in rows:
        follower = found.setdefault(
            subscription.user_id,
            Follower(subscription.user_id, user.role, user.digest, user.disabled, {}),
        )
        follower.levels[subscription.target] = subscription.level
    return list(found.values())


async def _levels(
    session: AsyncSession, *, user_ids: Iterable[int], targets: Sequence[str]
) -> dict[int, dict[str, str]]:
    rows = (
        await session.exec(
            select(Subscription.user_id, Subscription.target, Subscription.level).where(
                col(Subscription.user_id).in_(list(user_ids)),
                col(Subscription.target).in_(targets),
            )
        )
    ).all()
    levels: dict[int, dict[str, str]] = {}
    for user_id, target, level in rows:
        levels.setdefault(user_id, {})[target] = level
    return levels


def _may_read(follower: Follower, room: Room) -> bool:
    viewer = Viewer(follower.user_id, follower.role)  # type: ignore[arg-type]
    return not follower.disabled and can_read_room(viewer, room.visibility)


async def _deliver(
    tx: Transaction, notice: Notice, recipients: dict[int, bool], followers: Sequence[Follower]
) -> None:
    """Write one row per recipient (``True`` = in the app too), then push the in-app ones on each
    recipient's stream with their unread count. A digest-only notice for someone whose digest
    is off would reach nobody, so it is not written."""
    digest_of = {f.user_id: f.digest for f in followers}
    rows = [
        Notification(
            user_id=user_id,
            kind=notice.kind,
            reason=notice.reason,
            in_app=in_app,
            actor_id=notice.actor.id if notice.actor else None,
            room_id=notice.room_id,
            thread_id=notice.thread_id,
            message_id=notice.message_id,
            initiative_id=notice.initiative_id,
            country=notice.country,
            title=notice.title[:200],
            excerpt=notice.excerpt[:300],
            url=notice.url,
            created_at=tx.now,
        )
        for user_id, in_app in sorted(recipients.items())
        if in_app or digest_of.get(user_id, "daily") != "off"
    ]
    if not rows:
        return
    tx.session.add_all(rows)
    await tx.session.flush()
    live = [row for row in rows if row.in_app]
    if not live:
        return
    counts = await unread_counts(tx.session, user_ids=[row.user_id for row in live])
    actor = author_view(notice.actor) if notice.actor else None
    await tx.emit_to_each(
        [
            (
                user_stream(row.user_id),
                "notification.created",
                {
                    "notification": notification_view(row, actor),
                    "unread": counts.get(row.user_id, 0),
                },
            )
            for row in live
        ]
    )
