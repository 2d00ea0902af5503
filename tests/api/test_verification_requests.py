"""Members ask to be verified as regulators; moderators approve or refuse with a reason."""

from __future__ import annotations

from server.db.models import RegulatorRequest, User
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, signed_in

ASK = {"organization": "Communications Authority of Kenya", "country": "ke", "note": "staff id 42"}


async def test_ask_approve_and_refuse(new_client: ClientFactory, services: Services) -> None:
    member = await new_client()
    user = await signed_in(member, services)
    asked = await member.post("/api/me/verification", json=ASK)
    assert asked.status_code == 201 and asked.json()["request"]["country"] == "KE"
    assert (await member.post("/api/me/verification", json=ASK)).status_code == 409
    assert (await member.get("/api/verifications")).status_code == 403

    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    queue = (await moderator.get("/api/verifications")).json()["requests"]
    assert [r["user"]["id"] for r in queue] == [user.id]
    approved = await moderator.post(
        f"/api/verifications/{queue[0]['id']}", json={"decision": "approve"}
    )
    assert approved.status_code == 200 and approved.json()["request"]["status"] == "approved"
    async with services.read() as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        assert (stored.role, stored.country, stored.organization) == (
            "regulator", "KE", "Communications Authority of Kenya",
        )  # fmt: skip
    assert (await member.post("/api/me/verification", json=ASK)).status_code == 409  # verified

    other = await new_client()
    await signed_in(other, services)
    request_id = (await other.post("/api/me/verification", json=ASK)).json()["request"]["id"]
    no_reason = await moderator.post(
        f"/api/verifications/{request_id}", json={"decision": "refuse"}
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    refused = await moderator.post(
        f"/api/verifications/{request_id}",
        json={"decision": "refuse", "reason": "not on the authority's staff list"},
    )
    assert refused.json()["request"]["reason"] == "not on the authority's staff list"
    assert (
        await moderator.post(f"/api/verifications/{request_id}", json={"decision": "approve"})
    ).status_code == 404
    actions = [e["action"] for e in (await moderator.get("/api/audit")).json()["entries"]]
    assert actions[:2] == ["regulator.refused", "regulator.approved"]


async def test_bad_requests_store_nothing(new_client: ClientFactory, services: Services) -> None:
    member = await new_client()
    await signed_in(member, services)
    for body, field in (
        ({**ASK, "country": "XX"}, "country"),
        ({**ASK, "organization": " "}, "organization"),
        ({**ASK, "role": "admin"}, "role"),
    ):
        response = await member.post("/api/me/verification", json=body)
        assert response.status_code == 400 and field in response.json()["error"]["fields"], body
    assert await count(services, RegulatorRequest) == 0
