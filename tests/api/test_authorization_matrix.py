"""Every role, every action, own or other's object: the status, and nothing changed where the
action was refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from server.db.models import (
    AuditEntry,
    Event,
    Flag,
    Initiative,
    InitiativeEntry,
    Message,
    MessageRevision,
    Room,
    Subscription,
    Thread,
    User,
)  # fmt: skip
from server.services.context import Services
from tests.api.test_initiatives import MEASURE
from tests.conftest import ClientFactory
from tests.helpers import PASSWORD, make_user

ROLES = ("anonymous", "member", "regulator", "moderator", "admin")
TABLES = (AuditEntry, Event, Flag, Initiative, InitiativeEntry, Message, MessageRevision, Room,
          Subscription, Thread)  # fmt: skip


@dataclass
class World:
    thread: int
    others_message: int
    own_message: int | None
    initiative: int
    other_user: int


Action = Callable[[httpx.AsyncClient, World], Awaitable[httpx.Response]]
A, M, R, MOD, ADM = ROLES


def expect(
    anonymous: int, member: int, regulator: int, moderator: int, admin: int
) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, member, regulator, moderator, admin), strict=True))


# (name, action, expected status per role). Run in this order, in one world per role.
MATRIX: list[tuple[str, Action, dict[str, int]]] = [
    ("read regulators room", lambda c, w: c.get("/api/rooms/reg"), expect(404, 404, 200, 200, 200)),
    ("read members room", lambda c, w: c.get("/api/rooms/mem"), expect(404, 200, 200, 200, 200)),
    ("create room", lambda c, w: c.post("/api/rooms", json={"slug": "new", "title": "New"}),
     expect(403, 403, 403, 201, 201)),
    ("edit room", lambda c, w: c.patch("/api/rooms/pub", json={"title": "Renamed"}),
     expect(403, 403, 403, 200, 200)),
    ("post in public thread", lambda c, w: c.post(f"/api/threads/{w.thread}/messages",
     json={"body": "hello"}), expect(401, 201, 201, 201, 201)),
    ("start thread in regulators room", lambda c, w: c.post("/api/rooms/reg/threads",
     json={"title": "t", "body": "b", "kind": "discussion"}), expect(404, 404, 201, 201, 201)),
    ("edit other's message", lambda c, w: c.patch(f"/api/messages/{w.others_message}",
     json={"body": "changed"}), expect(401, 403, 403, 403, 403)),
    ("edit own message", lambda c, w: c.patch(f"/api/messages/{w.own_message or 0}",
     json={"body": "mine, edited"}), expect(404, 200, 200, 200, 200)),
    ("flag other's message", lambda c, w: c.post(f"/api/messages/{w.others_message}/flag",
     json={"reason": "spam"}), expect(401, 201, 201, 201, 201)),
    ("flag own message", lambda c, w: c.post(f"/api/messages/{w.own_message or 0}/flag",
     json={"reason": "spam"}), expect(401, 400, 400, 400, 400)),
    ("pin answer", lambda c, w: c.put(f"/api/threads/{w.thread}/pin",
     json={"message_id": w.others_message}), expect(403, 403, 403, 200, 200)),
    ("hide message", lambda c, w: c.post(f"/api/messages/{w.others_message}/hide",
     json={"reason": "test"}), expect(403, 403, 403, 200, 200)),
    ("read flag queue", lambda c, w: c.get("/api/flags"), expect(401, 403, 403, 200, 200)),
    ("read audit log", lambda c, w: c.get("/api/audit"), expect(401, 403, 403, 200, 200)),
    ("badge an expert", lambda c, w: c.patch(f"/api/users/{w.other_user}", json={"expert": True}),
     expect(403, 403, 403, 200, 200)),
    ("publish for own country", lambda c, w: c.post("/api/initiatives", json=MEASURE),
     expect(401, 403, 201, 201, 201)),
    ("publish for another country", lambda c, w: c.post("/api/initiatives",
     json={**MEASURE, "country": "GH"}), expect(401, 403, 403, 201, 201)),
    ("edit other's initiative", lambda c, w: c.patch(f"/api/initiatives/{w.initiative}",
     json={"title": "Changed"}), expect(401, 403, 403, 200, 200)),
    ("verify initiative", lambda c, w: c.put(f"/api/initiatives/{w.initiative}/verification",
     json={"state": "verified"}), expect(403, 403, 403, 200, 200)),
    ("read another user's stream", lambda c, w: c.get(f"/api/streams/user:{w.other_user}/events"),
     expect(404, 404, 404, 404, 404)),
    ("follow regulators room", lambda c, w: c.put("/api/subscriptions/room:reg",
     json={"level": "live"}), expect(401, 404, 200, 200, 200)),
    ("disable an account", lambda c, w: c.patch(f"/api/users/{w.other_user}",
     json={"disabled": True}), expect(403, 403, 403, 403, 200)),
]  # fmt: skip


async def fingerprint(services: Services) -> tuple[Any, ...]:
    async with services.read() as session:
        counts = [
            (await session.exec(select(func.count()).select_from(table))).one() for table in TABLES
        ]
        flags = (await session.exec(select(User.expert, User.disabled, User.role))).all()
        messages = (await session.exec(select(Message.body, Message.hidden))).all()
        threads = (await session.exec(select(Thread.pinned_message_id))).all()
        rooms = (await session.exec(select(Room.title))).all()
        initiatives = (await session.exec(select(Initiative.title, Initiative.verification))).all()
    return (tuple(counts), sorted(flags), sorted(messages), sorted(threads, key=str),
            sorted(rooms), sorted(initiatives))  # fmt: skip


async def _world(
    new_client: ClientFactory, services: Services, role: str
) -> tuple[httpx.AsyncClient, World]:
    moderator = await make_user(services, role="moderator")
    staff = await new_client()
    await staff.post("/api/auth/login", json={"email": moderator.email, "password": PASSWORD})
    for slug, visibility in (("pub", "public"), ("mem", "members"), ("reg", "regulators")):
        room = {"slug": slug, "title": slug, "visibility": visibility}
        assert (await staff.post("/api/rooms", json=room)).status_code == 201
    question = {"title": "Q", "body": "?", "kind": "question"}
    thread = (await staff.post("/api/rooms/pub/threads", json=question)).json()
    thread_id = thread["thread"]["id"]
    other = await make_user(services)
    other_client = await new_client()
    await other_client.post("/api/auth/login", json={"email": other.email, "password": PASSWORD})
    theirs = await other_client.post(f"/api/threads/{thread_id}/messages", json={"body": "theirs"})
    others_message = theirs.json()["message"]["id"]
    initiative = (await staff.post("/api/initiatives", json=MEASURE)).json()["initiative"]["id"]

    actor = await new_client()
    own_message = None
    if role != "anonymous":
        user = await make_user(services, role=role)
        async with services.write() as tx:
            user.country = "KE"
            tx.session.add(user)
        await actor.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        posted = await actor.post(f"/api/threads/{thread_id}/messages", json={"body": "mine"})
        own_message = posted.json()["message"]["id"]
    return actor, World(thread_id, others_message, own_message, initiative, other.id)


@pytest.mark.parametrize("role", ROLES)
async def test_authorization_matrix(
    new_client: ClientFactory, services: Services, role: str
) -> None:
    actor, world = await _world(new_client, services, role)
    failures = []
    for name, action, expected in MATRIX:
        before = await fingerprint(services)
        response = await action(actor, world)
        if response.status_code != expected[role]:
            failures.append(f"{name}: {response.status_code}, expected {expected[role]}")
        if response.status_code >= 400 and await fingerprint(services) != before:
            failures.append(f"{name}: refused with {response.status_code} but something changed")
    assert failures == []
