"""Moderators and admins acting on accounts: the regulator role, the expert badge, roles,
disabling. Nobody acts on an account of a higher role, and nobody changes their own role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.db.models import User
from server.domain.errors import Forbidden, NotFound, invalid_field
from server.domain.permissions import ROLES, Viewer, role_at_least
from server.domain.streams import CONTROL_STREAM
from server.services.audit import record_action
from server.services.context import Services
from server.services.views import me_view

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
