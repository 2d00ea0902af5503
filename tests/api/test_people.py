"""Acting on accounts: regulators verified by moderators, roles and disabling by admins."""

from __future__ import annotations

import httpx

from server.db.models import AuditEntry, User
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, make_user, signed_in


async def _role_of(services: Services, user_id: int) -> tuple[str, bool, bool]:
    async with services.read() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.role, user.expert, user.disabled


async def test_moderators_verify_regulators_and_badge_experts(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    me = await signed_in(moderator, services, role="moderator")
    member = await make_user(services)
    verified = await moderator.patch(
        f"/api/users/{member.id}", json={"role": "regulator", "reason": "CA staff list"}
    )
    assert verified.status_code == 200 and verified.json()["user"]["role"] == "regulator"
    assert (
        await moderator.patch(f"/api/users/{member.id}", json={"expert": True})
    ).status_code == 200
    assert await _role_of(services, member.id) == ("regulator", True, False)
    assert await count(services, AuditEntry) == 2

    before = await count(services, AuditEntry)
    for body, who in (
        ({"role": "moderator"}, member.id),  # beyond regulator: admins only
        ({"disabled": True}, member.id),  # admins only
        ({"role": "member"}, me.id),  # own role
    ):
        response = await moderator.patch(f"/api/users/{who}", json=body)
        assert response.status_code == 403, body
    admin = await make_user(services, role="admin")
    assert (
        await moderator.patch(f"/api/users/{admin.id}", json={"expert": True})
    ).status_code == 403
    assert await _role_of(services, admin.id) == ("admin", False, False)
    assert await _role_of(services, member.id) == ("regulator", True, False)
    assert await count(services, AuditEntry) == before


async def test_admins_set_roles_and_disable_and_members_cannot(
    new_client: ClientFactory, services: Services
) -> None:
    admin = await new_client()
    me = await signed_in(admin, services, role="admin")
    target_client = await new_client()
    target = await signed_in(target_client, services)
    member = await new_client()
    await signed_in(member, services)
    assert (await member.patch(f"/api/users/{target.id}", json={"expert": True})).status_code == 403
    bad = await admin.patch(f"/api/users/{target.id}", json={"role": "emperor"})
    assert bad.status_code == 400 and "role" in bad.json()["error"]["fields"]

    assert (
        await admin.patch(f"/api/users/{target.id}", json={"role": "moderator"})
    ).status_code == 200
    assert (
        await admin.patch(f"/api/users/{target.id}", json={"disabled": True})
    ).status_code == 200
    assert (await target_client.get("/api/me")).status_code == 401  # its session stopped at once
    assert (await admin.patch(f"/api/users/{me.id}", json={"disabled": True})).status_code == 403
    assert (await admin.patch("/api/users/999999", json={"expert": True})).status_code == 404
    assert await _role_of(services, target.id) == ("moderator", False, True)
    anonymous: httpx.AsyncClient = await new_client()
    assert (
        await anonymous.patch(f"/api/users/{target.id}", json={"expert": True})
    ).status_code == 403
