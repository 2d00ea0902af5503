"""Who may do what. Objects a viewer may not see are reported as missing, never as forbidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["member", "regulator", "moderator", "admin"]
Visibility = Literal["public", "members", "regulators"]

ROLES: tuple[Role, ...] = ("member", "regulator", "moderator", "admin")
VISIBILITIES: tuple[Visibility, ...] = ("public", "members", "regulators")
_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user a request or socket acts for."""

    user_id: int
    role: Role


def role_at_least(viewer: Viewer | None, role: Role) -> bool:
    return viewer is not None and _RANK[viewer.role] >= _RANK[role]


def can_read_room(viewer: Viewer | None, visibility: str) -> bool:
    if visibility == "public":
        return True
    if visibility == "members":
        return viewer is not None
    return role_at_least(viewer, "regulator")


def can_post_in_room(viewer: Viewer | None, visibility: str) -> bool:
    return viewer is not None and can_read_room(viewer, visibility)


def can_manage_rooms(viewer: Viewer | None) -> bool:
    return role_at_least(viewer, "moderator")


def can_edit_message(viewer: Viewer | None, author_id: int) -> bool:
    return viewer is not None and viewer.user_id == author_id


def readable_visibilities(viewer: Viewer | None) -> tuple[Visibility, ...]:
    return tuple(v for v in VISIBILITIES if can_read_room(viewer, v))


def may_see_hidden(viewer: Viewer | None, author_id: int) -> bool:
    """A hidden message still reads in full for its author and for moderators."""
    return viewer is not None and (
        viewer.user_id == author_id or role_at_least(viewer, "moderator")
    )


def can_moderate(viewer: Viewer | None) -> bool:
    return role_at_least(viewer, "moderator")
