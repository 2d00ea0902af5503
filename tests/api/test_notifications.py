"""Notifications: who is told of what, pushed live with the unread count, listed, marked read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
from sqlmodel import col, select, update

from server.db.models import Initiative, Message, Notification, User
from server.services.context import Outgoing, Services
from server.services.notifications import notify_ending_initiatives
from tests.api.test_initiatives import MEASURE
from tests.conftest import ClientFactory
from tests.helpers import make_room, make_thread, signed_in


async def _notifications(client: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/notifications{query}")
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _rows(services: Services, user_id: int) -> list[Notification]:
    async with services.read() as session:
        rows = await session.exec(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(col(Notification.id))
        )
        return list(rows.all())


async def _follow(client: httpx.AsyncClient, target: str, level: str = "live") -> None:
    response = await client.put(f"/api/subscriptions/{target}", json={"level": level})
    assert response.status_code == 200, response.text


class Pushed:
    """What the services hand the bus once committed, kept for the test to read."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, outgoing: Sequence[Outgoing]) -> None:
        self.frames += [orjson.loads(payload) for _stream, payload in outgoing]

    def notifications_of(self, user_id: int) -> list[dict[str, Any]]:
        return [
            f["data"]
            for f in self.frames
            if f.get("stream") == f"user:{user_id}" and f.get("name") == "notification.created"
        ]


async def test_threads_replies_and_mentions_reach_followers_and_respect_mute(
    new_client: ClientFactory, services: Services
) -> None:
    pushed = Pushed()
    services.publishers.append(pushed)
    starter_client, live_client, digest_client, muted_client, replier_client = [
        await new_client() for _ in range(5)
    ]
    starter = await signed_in(starter_client, services, role="moderator")
    await make_room(starter_client, slug="crisis")
    live = await signed_in(live_client, services)
    digest = await signed_in(digest_client, services)
    muted = await signed_in(muted_client, services)
    replier = await signed_in(replier_client, services)
    await _follow(live_client, "room:crisis", "live")
    await _follow(digest_client, "room:crisis", "digest")
    await _follow(muted_client, "room:crisis", "mute")

    thread = await make_thread(starter_client, slug="crisis", title="Spectrum for 90 days")
    listed = (await _notifications(live_client))["notifications"]
    assert [(n["kind"], n["title"], n["url"]) for n in listed] == [
        ("thread", "Spectrum for 90 days", f"/threads/{thread['id']}")
    ]
    assert listed[0]["actor"]["handle"] == starter.handle and listed[0]["read"] is False
    # A digest-only follow makes a row for the digest, not one in the app.
    assert (await _notifications(digest_client))["notifications"] == []
    assert [(r.kind, r.in_app) for r in await _rows(services, digest.id)] == [("thread", False)]
    assert await _rows(services, muted.id) == []

    body = f"Thanks @{live.handle} and @{muted.handle}; see `@{digest.handle}` in the config."
    posted = await replier_client.post(f"/api/threads/{thread['id']}/messages", json={"body": body})
    assert posted.status_code == 201
    message_id = posted.json()["message"]["id"]
    # The starter follows their thread: a reply. The live follower is mentioned: one mention,
    # no second notice. A mention inside code is no mention; a muted room mutes mentions too.
    assert [
        (n["kind"], n["url"]) for n in (await _notifications(starter_client))["notifications"]
    ] == [("reply", f"/threads/{thread['id']}#m{message_id}")]
    assert [n["kind"] for n in (await _notifications(live_client))["notifications"]] == [
        "mention",
        "thread",
    ]
    assert [r.kind for r in await _rows(services, digest.id)] == ["thread"]
    assert await _rows(services, muted.id) == []
    assert await _rows(services, replier.id) == []  # no notice of one's own message

    # Each in-app notice was pushed on the user's stream with their unread count.
    assert [(d["notification"]["kind"], d["unread"]) for d in pushed.notifications_of(live.id)] == [
        ("thread", 1),
        ("mention", 2),
    ]
    assert pushed.notifications_of(digest.id) == []

    # Posting followed the thread: the replier now hears of the starter's answer.
    await starter_client.post(f"/api/threads/{thread['id']}/messages", json={"body": "Agreed."})
    assert [n["kind"] for n in (await _notifications(replier_client))["notifications"]] == ["reply"]
    # Muting the thread silences it, whatever the room's level.
    await _follow(replier_client, f"thread:{thread['id']}", "mute")
    await starter_client.post(f"/api/threads/{thread['id']}/messages", json={"body": "And more."})
    assert len((await _notifications(replier_client))["notifications"]) == 1


async def test_a_mention_of_someone_who_cannot_read_the_room_notifies_no_one(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, member_client, regulator_client = [await new_client() for _ in range(3)]
    await signed_in(moderator_client, services, role="moderator")
    member = await signed_in(member_client, services)
    regulator = await signed_in(regulator_client, services, role="regulator")
    await make_room(moderator_client, slug="closed", visibility="regulators")
    await make_thread(
        moderator_client,
        slug="closed",
        body=f"@{member.handle} and @{regulator.handle}, please look.",
    )
    assert await _rows(services, member.id) == []
    assert (await _notifications(member_client)) == {
        "notifications": [],
        "unread": 0,
        "cursor": None,
    }
    assert [r.kind for r in await _rows(services, regulator.id)] == ["mention"]


async def test_a_pinned_answer_tells_the_participants_but_not_the_moderator(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, asker_client, expert_client = [await new_client() for _ in range(3)]
    moderator = await signed_in(moderator_client, services, role="moderator")
    asker = await signed_in(asker_client, services)
    expert = await signed_in(expert_client, services)
    await make_room(moderator_client, slug="questions")
    thread = await make_thread(asker_client, slug="questions")
    answer = await expert_client.post(
        f"/api/threads/{thread['id']}/messages", json={"body": "Use band 700."}
    )
    answer_id = answer.json()["message"]["id"]
    pinned = await moderator_client.put(
        f"/api/threads/{thread['id']}/pin", json={"message_id": answer_id}
    )
    assert pinned.status_code == 200
    kinds = [n["kind"] for n in (await _notifications(asker_client))["notifications"]]
    assert kinds == ["answer_pinned", "reply"]
    assert [n["kind"] for n in (await _notifications(expert_client))["notifications"]] == [
        "answer_pinned"
    ]
    assert await _rows(services, moderator.id) == []
    # Pinning the same answer again tells no one twice.
    await moderator_client.put(f"/api/threads/{thread['id']}/pin", json={"message_id": answer_id})
    assert len(await _rows(services, asker.id)) == 2
    assert len(await _rows(services, expert.id)) == 1


async def test_initiatives_in_a_followed_country_new_updated_verified_and_ending(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, follower_client, muted_client, other_client = [
        await new_client() for _ in range(4)
    ]
    await signed_in(moderator_client, services, role="moderator")
    await signed_in(follower_client, services)
    muted = await signed_in(muted_client, services)
    other = await signed_in(other_client, services)
    await _follow(follower_client, "country:KE")
    await _follow(muted_client, "country:KE", "mute")
    await _follow(other_client, "country:GH")

    soon = services.clock().date() + timedelta(days=10)
    created = await moderator_client.post(
        "/api/initiatives", json={**MEASURE, "ends_on": soon.isoformat()}
    )
    assert created.status_code == 201, created.text
    initiative = created.json()["initiative"]
    path = f"/api/initiatives/{initiative['id']}"
    await moderator_client.patch(path, json={"kind": "update", "note": "n", "title": "Renamed"})
    await moderator_client.put(f"{path}/verification", json={"state": "verified", "note": "ok"})
    # Setting the same state again is no news.
    await moderator_client.put(f"{path}/verification", json={"state": "verified", "note": "ok"})

    assert await notify_ending_initiatives(services) == 1
    assert await notify_ending_initiatives(services) == 0  # said once per end date
    listed = (await _notifications(follower_client))["notifications"]
    assert [(n["kind"], n["reason"]) for n in listed] == [
        ("initiative", "ending"),
        ("initiative", "verified"),
        ("initiative", "updated"),
        ("initiative", "created"),
    ]
    assert {n["url"] for n in listed} == {f"/initiatives/{initiative['id']}"}
    assert all(n["country"] == "KE" for n in listed)
    assert await _rows(services, muted.id) == []
    assert await _rows(services, other.id) == []

    # An extension to a new date that is also near is announced again; an ended measure is not.
    async with services.write() as tx:
        await tx.session.exec(
            update(Initiative)
            .where(col(Initiative.id) == initiative["id"])
            .values(ends_on=soon + timedelta(days=2))
        )
    assert await notify_ending_initiatives(services) == 1
    await moderator_client.post(f"{path}/entries", json={"kind": "ended", "note": "over"})
    async with services.write() as tx:
        await tx.session.exec(
            update(Initiative)
            .where(col(Initiative.id) == initiative["id"])
            .values(ends_on=date.fromordinal(soon.toordinal() + 3))
        )
    assert await notify_ending_initiatives(services) == 0


async def test_the_author_of_a_measure_hears_of_replies_in_its_discussion(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, member_client = await new_client(), await new_client()
    await signed_in(moderator_client, services, role="moderator")
    await signed_in(member_client, services)
    created = await moderator_client.post("/api/initiatives", json=MEASURE)
    assert created.status_code == 201, created.text
    thread_id = created.json()["initiative"]["thread_id"]
    posted = await member_client.post(
        f"/api/threads/{thread_id}/messages", json={"body": "Is it extended?"}
    )
    assert posted.status_code == 201, posted.text
    listed = (await _notifications(moderator_client))["notifications"]
    assert [(n["kind"], n["thread_id"]) for n in listed] == [("reply", thread_id)]


async def test_marking_read_by_ids_or_all_and_bad_requests(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, reader_client, stranger_client = [await new_client() for _ in range(3)]
    await signed_in(moderator_client, services, role="moderator")
    reader = await signed_in(reader_client, services)
    stranger = await signed_in(stranger_client, services)
    await make_room(moderator_client, slug="news")
    await _follow(reader_client, "room:news")
    await _follow(stranger_client, "room:news")
    for number in range(3):
        await make_thread(moderator_client, slug="news", title=f"Thread {number}")
    page = await _notifications(reader_client, "?limit=2")
    assert page["unread"] == 3 and len(page["notifications"]) == 2 and page["cursor"]
    rest = await _notifications(reader_client, f"?limit=2&cursor={page['cursor']}")
    assert [n["title"] for n in rest["notifications"]] == ["Thread 0"] and rest["cursor"] is None
    ids = [n["id"] for n in page["notifications"]]
    strangers = [r.id for r in await _rows(services, stranger.id)]

    bad_bodies: list[Any] = [
        {},
        {"ids": ids, "all": True},
        {"all": False},
        {"ids": "1,2"},
        {"ids": [1.5]},
        {"ids": list(range(501))},
        {"ids": ids, "extra": 1},
        [1, 2],
    ]
    for body in bad_bodies:
        response = await reader_client.post("/api/notifications/read", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid"
    bad_cursor = await reader_client.get("/api/notifications?cursor=forged")
    assert bad_cursor.status_code == 400
    anonymous = await new_client()
    assert (await anonymous.get("/api/notifications")).status_code == 401
    refused = await anonymous.post("/api/notifications/read", json={"all": True})
    assert refused.status_code == 401
    # Nothing was marked by any of those.
    assert all(r.read_at is None for r in await _rows(services, reader.id))

    # Someone else's ids are ignored, as if they did not exist.
    marked = await reader_client.post("/api/notifications/read", json={"ids": [*ids, *strangers]})
    assert marked.json() == {"marked": 2, "unread": 1}
    assert all(r.read_at is None for r in await _rows(services, stranger.id))
    unread = await _notifications(reader_client, "?unread=1")
    assert [n["title"] for n in unread["notifications"]] == ["Thread 0"]
    everything = await reader_client.post("/api/notifications/read", json={"all": True})
    assert everything.json() == {"marked": 1, "unread": 0}


async def test_marking_all_read_leaves_digest_only_notifications_for_the_digest(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, reader_client = [await new_client() for _ in range(2)]
    await signed_in(moderator_client, services, role="moderator")
    reader = await signed_in(reader_client, services)
    await make_room(moderator_client, slug="news")
    await make_room(moderator_client, slug="quiet")
    await _follow(reader_client, "room:news", "live")
    await _follow(reader_client, "room:quiet", "digest")
    await make_thread(moderator_client, slug="news", title="Shown")
    await make_thread(moderator_client, slug="quiet", title="For the digest")
    digest_only = [r.id for r in await _rows(services, reader.id) if not r.in_app]
    assert len(digest_only) == 1

    by_id = await reader_client.post("/api/notifications/read", json={"ids": digest_only})
    assert by_id.json() == {"marked": 0, "unread": 1}
    everything = await reader_client.post("/api/notifications/read", json={"all": True})
    assert everything.json() == {"marked": 1, "unread": 0}
    rows = {r.title: r for r in await _rows(services, reader.id)}
    assert rows["Shown"].read_at is not None
    assert rows["For the digest"].read_at is None  # still to be mailed


async def test_a_room_one_can_no_longer_read_drops_out_of_the_list(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, regulator_client = [await new_client() for _ in range(2)]
    await signed_in(moderator_client, services, role="moderator")
    regulator = await signed_in(regulator_client, services, role="regulator")
    await make_room(moderator_client, slug="closed", visibility="regulators")
    await _follow(regulator_client, "room:closed")
    await make_thread(moderator_client, slug="closed")
    assert (await _notifications(regulator_client))["unread"] == 1
    async with services.write() as tx:
        await tx.session.exec(
            update(User).where(col(User.id) == regulator.id).values(role="member")
        )
    assert await _notifications(regulator_client) == {
        "notifications": [],
        "unread": 0,
        "cursor": None,
    }


async def test_an_edit_that_adds_a_mention_tells_only_the_newly_mentioned(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, first_client, second_client = [await new_client() for _ in range(3)]
    await signed_in(moderator_client, services, role="moderator")
    first = await signed_in(first_client, services)
    second = await signed_in(second_client, services)
    await make_room(moderator_client, slug="crisis")
    thread = await make_thread(moderator_client, slug="crisis", body=f"Hi @{first.handle}")
    async with services.read() as session:
        [message_id] = (
            await session.exec(select(Message.id).where(Message.thread_id == thread["id"]))
        ).all()
    edited = await moderator_client.patch(
        f"/api/messages/{message_id}", json={"body": f"Hi @{first.handle} and @{second.handle}"}
    )
    assert edited.status_code == 200
    assert [r.kind for r in await _rows(services, first.id)] == ["mention"]
    assert [r.kind for r in await _rows(services, second.id)] == ["mention"]


async def test_hiding_a_message_takes_its_words_out_of_notifications_until_restored(
    new_client: ClientFactory, services: Services
) -> None:
    moderator_client, reader_client = [await new_client() for _ in range(2)]
    await signed_in(moderator_client, services, role="moderator")
    reader = await signed_in(reader_client, services)
    await make_room(moderator_client, slug="crisis")
    thread = await make_thread(moderator_client, slug="crisis", body=f"@{reader.handle} rude words")
    async with services.read() as session:
        [message_id] = (
            await session.exec(select(Message.id).where(Message.thread_id == thread["id"]))
        ).all()

    async def excerpt() -> str:
        listed = (await _notifications(reader_client))["notifications"]
        return str(listed[0]["excerpt"])

    assert await excerpt() == f"@{reader.handle} rude words"
    hidden = await moderator_client.post(f"/api/messages/{message_id}/hide", json={"reason": "r"})
    assert hidden.status_code == 200
    assert await excerpt() == "Hidden by a moderator."
    await moderator_client.post(f"/api/messages/{message_id}/restore", json={"reason": "ok"})
    assert await excerpt() == f"@{reader.handle} rude words"
