"""The notification pages and the follow control's route, as plain HTTP: who may open what, where
they are sent back to, and that refused requests change nothing."""

from __future__ import annotations

from typing import Any

import httpx

from server.db.models import Notification, Subscription
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in

MEASURE: dict[str, Any] = {
    "country": "KE",
    "title": "Zero-rated health portal",
    "summary": "Free access to the ministry's health portal.",
    "theme": "affordability",
    "stakeholder": "regulator",
    "instrument": "voluntary",
    "status": "active",
    "phase": "emergency",
}


async def _listed(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/notifications")
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def _follow(client: httpx.AsyncClient, target: str, level: str, back: str) -> httpx.Response:
    return await client.post("/follow", data={"target": target, "level": level, "next": back})


async def _levels(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    rows = (await client.get("/api/subscriptions")).json()["subscriptions"]
    return [(row["target"], row["level"]) for row in rows]


async def test_the_pages_need_sign_in(new_client: ClientFactory, services: Services) -> None:
    anonymous = await new_client()
    listed = await anonymous.get("/notifications")
    assert listed.status_code == 303
    assert listed.headers["location"] == "/login?next=/notifications"
    opened = await anonymous.get("/notifications/1")
    assert opened.status_code == 303
    assert opened.headers["location"] == "/login?next=/notifications/1"
    # Forms posted without a session go to sign in, then back to the page they came from.
    marked = await anonymous.post("/notifications/read")
    assert marked.status_code == 303
    assert marked.headers["location"] == "/login?next=/notifications"
    followed = await _follow(anonymous, "country:KE", "live", "/countries/KE")
    assert followed.status_code == 303
    assert followed.headers["location"] == "/login?next=/countries/KE"
    assert await count(services, Subscription) == 0


async def test_opening_a_notification_marks_it_read_only_for_its_owner(
    new_client: ClientFactory, services: Services
) -> None:
    member = await new_client()
    await signed_in(member, services)
    assert (await _follow(member, "country:KE", "live", "/countries/KE")).status_code == 303
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    created = await moderator.post("/api/initiatives", json=MEASURE)
    assert created.status_code == 201, created.text
    initiative_id = created.json()["initiative"]["id"]

    listed = await _listed(member)
    assert listed["unread"] == 1
    [notification] = listed["notifications"]
    page = await member.get("/notifications")
    assert page.status_code == 200
    assert "Zero-rated health portal" in page.text and "Unread" in page.text
    assert 'id="unread-count" data-unread="1"' in page.text  # the header's badge

    # Someone else's notification is not found, and stays unread.
    other = await new_client()
    await signed_in(other, services)
    refused = await other.get(f"/notifications/{notification['id']}")
    assert refused.status_code == 404 and "Not found" in refused.text
    assert (await _listed(member))["unread"] == 1
    assert (await member.get("/notifications/999999")).status_code == 404

    opened = await member.get(f"/notifications/{notification['id']}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/initiatives/{initiative_id}"
    after = await _listed(member)
    assert after["unread"] == 0 and after["notifications"][0]["read"] is True


async def test_mark_all_as_read_and_paging(new_client: ClientFactory, services: Services) -> None:
    member = await new_client()
    await signed_in(member, services)
    await _follow(member, "country:KE", "live", "/")
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    for n in range(32):  # more than one page of 30
        created = await moderator.post("/api/initiatives", json={**MEASURE, "title": f"No. {n}"})
        assert created.status_code == 201, created.text
    first = await member.get("/notifications")
    assert "No. 31<" in first.text and "No. 2<" in first.text and "No. 1<" not in first.text
    assert "Older notifications" in first.text
    cursor = first.text.split('href="/notifications?cursor=')[1].split('"')[0]
    older = await member.get(f"/notifications?cursor={cursor}")
    assert older.status_code == 200
    assert "No. 1<" in older.text and "No. 0<" in older.text and "No. 31" not in older.text
    bad = await member.get("/notifications?cursor=forged")
    assert bad.status_code == 400

    marked = await member.post("/notifications/read")
    assert marked.status_code == 303 and marked.headers["location"] == "/notifications"
    assert (await _listed(member))["unread"] == 0
    assert 'data-unread="0"' in (await member.get("/notifications")).text


async def test_the_follow_control_sets_and_clears_the_level(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="crisis")
    thread = await make_thread(moderator, slug="crisis")
    member = await new_client()
    await signed_in(member, services)

    for target, back in (
        ("country:KE", "/countries/KE"),
        ("room:crisis", "/rooms/crisis"),
        (f"thread:{thread['id']}", f"/threads/{thread['id']}"),
    ):
        response = await _follow(member, target, "digest", back)
        assert response.status_code == 303 and response.headers["location"] == back
        page = await member.get(back)
        assert '<option value="digest" selected>' in page.text, target
    assert await _levels(member) == [
        ("country:KE", "digest"), ("room:crisis", "digest"), (f"thread:{thread['id']}", "digest"),
    ]  # fmt: skip
    settings = await member.get("/settings")
    assert "Kenya" in settings.text and "Crisis" in settings.text
    assert "07:00 UTC" in settings.text

    await _follow(member, "country:KE", "mute", "/countries/KE")
    await _follow(member, "room:crisis", "none", "/rooms/crisis")
    await _follow(member, "room:crisis", "none", "/rooms/crisis")  # not following: no error
    assert await _levels(member) == [("country:KE", "mute"), (f"thread:{thread['id']}", "digest")]
    # The one way to follow a country is the control: the old button's route is gone.
    assert (await member.post("/countries/KE/follow")).status_code == 404


async def test_next_must_be_a_local_path(new_client: ClientFactory, services: Services) -> None:
    member = await new_client()
    await signed_in(member, services)
    for back in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "",
        "javascript:x",
    ):
        response = await _follow(member, "country:KE", "live", back)
        assert response.status_code == 303
        assert response.headers["location"] == "/", back
    assert await _levels(member) == [("country:KE", "live")]


async def test_what_one_may_not_follow_stores_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="secret", visibility="regulators")
    hidden = await make_thread(moderator, slug="secret")
    stored = await count(services, Subscription)  # the moderator follows the thread they started
    member = await new_client()
    user = await signed_in(member, services)
    for target in ("room:secret", f"thread:{hidden['id']}", "country:KEN", f"user:{user.id}", ""):
        response = await _follow(member, target, "live", "/")
        assert response.status_code == 404, target
    loud = await _follow(member, "country:KE", "loud", "/")
    assert loud.status_code == 400
    assert await count(services, Subscription) == stored
    assert await _levels(member) == []
    assert await count(services, Notification) == 0
