"""Following rooms, countries and threads: levels, and what one may not follow."""

from __future__ import annotations

from server.db.models import Subscription
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in


async def test_follow_change_level_and_unfollow(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="crisis")
    thread = await make_thread(moderator, slug="crisis")
    member = await new_client()
    await signed_in(member, services)

    for target in ("country:KE", "room:crisis", f"thread:{thread['id']}"):
        response = await member.put(f"/api/subscriptions/{target}", json={"level": "live"})
        assert response.status_code == 200, (target, response.text)
    muted = await member.put("/api/subscriptions/country:KE", json={"level": "mute"})
    assert muted.json()["subscription"]["level"] == "mute"
    listed = (await member.get("/api/subscriptions")).json()["subscriptions"]
    assert [(s["target"], s["level"]) for s in listed] == [
        ("country:KE", "mute"), ("room:crisis", "live"), (f"thread:{thread['id']}", "live"),
    ]  # fmt: skip
    assert (await member.delete("/api/subscriptions/room:crisis")).status_code == 204
    assert (await member.delete("/api/subscriptions/room:crisis")).status_code == 404
    # The member's two follows, and the moderator's follow of the thread they started.
    assert await count(services, Subscription) == 3


async def test_what_cannot_be_followed_stores_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await make_room(moderator, slug="secret", visibility="regulators")
    hidden = await make_thread(moderator, slug="secret")
    member = await new_client()
    user = await signed_in(member, services)
    refused = ["room:secret", f"thread:{hidden['id']}", "thread:x", "country:XXX", "initiatives"]
    for target in [*refused, f"user:{user.id}", "bogus"]:
        response = await member.put(f"/api/subscriptions/{target}", json={"level": "live"})
        assert response.status_code == 404, target
    bad_level = await member.put("/api/subscriptions/country:KE", json={"level": "loud"})
    assert bad_level.status_code == 400 and "level" in bad_level.json()["error"]["fields"]
    anonymous = await new_client()
    assert (await anonymous.get("/api/subscriptions")).status_code == 401
    # Only the moderator's follow of the thread they started: nothing of the member's.
    assert await count(services, Subscription) == 1
    assert (await member.get("/api/subscriptions")).json()["subscriptions"] == []
