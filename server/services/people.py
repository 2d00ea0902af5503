"""Moderators and admins acting on accounts: the regulator role, the expert badge, roles,
disabling. Nobody acts on an account of a higher role, and nobody changes their own role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from server.db.models import RegulatorRequest, User
from server.domain.errors import Conflict, Forbidden, NotFound, invalid_field
from server.domain.events import format_time
from server.domain.permissions import ROLES, Viewer, role_at_least
from server.domain.streams import CONTROL_STREAM
from server.services.audit import record_action
from server.services.context import Services
from server.services.countries import known_country
from server.services.views import author_view, me_view

_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True, slots=True)
class AccountChanges:
    role: str | None = None
    expert: bool | None = None
    disabled: bool | None = None
    reason: str = ""


async def change_account(
    services: Services, *, viewer: Viewer | None, user_id: int, changes: AccountChanges
) -> dict[str, Any]:
    if not role_at_least(viewer, "moderator"):
        raise Forbidden("only moderators and admins change accounts")
    assert viewer is not None
    async with services.write() as tx:
        user = await tx.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        if _RANK[user.role] > _RANK[viewer.role]:
            raise Forbidden("you cannot act on an account of a higher role")
        done: dict[str, Any] = {}
        if changes.role is not None and changes.role != user.role:
            if changes.role not in ROLES:
                raise invalid_field("role", f"must be one of {', '.join(ROLES)}")
            if user.id == viewer.user_id:
                raise Forbidden("you cannot change your own role")
            # Moderators verify regulators (member <-> regulator); other roles are admins' to give.
            regulator_step = {user.role, changes.role} <= {"member", "regulator"}
            if not (role_at_least(viewer, "admin") or regulator_step):
                raise Forbidden("only admins give or take this role")
            done["role"] = {"from": user.role, "to": changes.role}
            user.role = changes.role
        if changes.expert is not None and changes.expert != user.expert:
            done["expert"] = changes.expert
            user.expert = changes.expert
        if changes.disabled is not None and changes.disabled != user.disabled:
            if not role_at_least(viewer, "admin"):
                raise Forbidden("only admins disable accounts")
            if user.id == viewer.user_id:
                raise Forbidden("you cannot disable your own account")
            done["disabled"] = changes.disabled
            user.disabled = changes.disabled
            if changes.disabled:  # its sessions, tokens and sockets stop at once
                tx.signal(CONTROL_STREAM, {"type": "revoked", "user_id": user_id})
        if done:
            tx.session.add(user)
            await record_action(
                tx, actor=viewer, action="account.change", target_type="user", target_id=user_id,
                reason=changes.reason.strip()[:500], data=done,
            )  # fmt: skip
    return me_view(user) | {"disabled": user.disabled}


async def ask_verification(
    services: Services, *, viewer: Viewer, organization: str, country: str, note: str
) -> dict[str, Any]:
    """A member asks to be verified as a regulator; one open request at a time."""
    organization = organization.strip()
    if not 2 <= len(organization) <= 200:
        raise invalid_field("organization", "name the regulator or ministry")
    code = known_country(country).code
    async with services.write() as tx:
        user = await tx.session.get(User, viewer.user_id)
        assert user is not None
        if role_at_least(viewer, "regulator"):
            raise Conflict("your account is verified already")
        pending = (
            await tx.session.exec(
                select(RegulatorRequest).where(
                    RegulatorRequest.user_id == viewer.user_id, RegulatorRequest.status == "pending"
                )
            )
        ).first()
        if pending is not None:
            raise Conflict("you have a request waiting already")
        request = RegulatorRequest(
            user_id=viewer.user_id, organization=organization, country=code,
            note=note.strip()[:1000], created_at=tx.now,
        )  # fmt: skip
        tx.session.add(request)
        await tx.session.flush()
    return request_view(request, user)


def request_view(request: RegulatorRequest, user: User) -> dict[str, Any]:
    return {
        "id": request.id,
        "user": author_view(user),
        "organization": request.organization,
        "country": request.country,
        "note": request.note,
        "status": request.status,
        "reason": request.reason,
        "created_at": format_time(request.created_at),
    }


async def pending_requests(services: Services, *, viewer: Viewer | None) -> list[dict[str, Any]]:
    if not role_at_least(viewer, "moderator"):
        raise Forbidden("the verification queue is for moderators")
    async with services.read() as session:
        rows = (
            await session.exec(
                select(RegulatorRequest, User)
                .join(User, col(RegulatorRequest.user_id) == col(User.id))
                .where(RegulatorRequest.status == "pending")
                .order_by(col(RegulatorRequest.id))
            )
        ).all()
    return [request_view(request, user) for request, user in rows]


async def decide_request(
    services: Services, *, viewer: Viewer | None, request_id: int, approve: bool, reason: str
) -> dict[str, Any]:
    """Approve (the member becomes a regulator of that organization and country) or refuse with
    a reason the member can read."""
    if not role_at_least(viewer, "moderator"):
        raise Forbidden("only moderators verify regulators")
    assert viewer is not None
    reason = reason.strip()
    if not approve and not reason:
        raise invalid_field("reason", "say why the request is refused")
    async with services.write() as tx:
        request = await tx.session.get(RegulatorRequest, request_id)
        if request is None or request.status != "pending":
            raise NotFound("no such pending request")
        if request.user_id == viewer.user_id:
            raise Forbidden("you cannot decide your own request")
        user = await tx.session.get(User, request.user_id)
        assert user is not None
        request.status = "approved" if approve else "refused"
        request.decided_by, request.decided_at, request.reason = viewer.user_id, tx.now, reason
        tx.session.add(request)
        if approve and user.role == "member":
            user.role, user.organization, user.country = (
                "regulator",
                request.organization,
                request.country,
            )
            tx.session.add(user)
        await record_action(
            tx, actor=viewer, action=f"regulator.{request.status}", target_type="user",
            target_id=user.id or 0, reason=reason,
            data={"request": request_id, "organization": request.organization,
                  "country": request.country},
        )  # fmt: skip
    return request_view(request, user)
