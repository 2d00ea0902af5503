"""Rows shaped as the JSON that the API returns and the events carry (one shape for both)."""

from __future__ import annotations

from typing import Any

from server.db.models import ApiToken, Message, Room, Thread, User
from server.domain.events import format_time


def author_view(user: User) -> dict[str, Any]:
    """What anyone may see of a user next to their posts."""
    return {
        "id": user.id,
        "handle": user.handle,
        "display_name": user.display_name,
        "organization": user.organization,
        "stakeholder": user.stakeholder,
        "country": user.country,
        "role": user.role,
        "expert": user.expert,
    }


def me_view(user: User) -> dict[str, Any]:
    """What a user sees of their own account."""
    return {
        **author_view(user),
        "email": user.email,
        "digest": user.digest,
        "language": user.language,
        "created_at": format_time(user.created_at),
    }


def token_view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": format_time(token.created_at),
        "last_used_at": format_time(token.last_used_at) if token.last_used_at else None,
    }


def room_view(room: Room) -> dict[str, Any]:
    return {
        "slug": room.slug,
        "title": room.title,
        "description": room.description,
        "theme": room.theme,
        "visibility": room.visibility,
        "archived": room.archived,
        "stream": f"room:{room.slug}",
        "created_at": format_time(room.created_at),
    }


def thread_view(thread: Thread, room: Room) -> dict[str, Any]:
    return {
        "id": thread.id,
        "room": room.slug,
        "title": thread.title,
        "kind": thread.kind,
        "countries": list(thread.countries),
        "pinned_message_id": thread.pinned_message_id,
        "answered": thread.pinned_message_id is not None,
        "created_by": thread.created_by,
        "created_at": format_time(thread.created_at),
        "last_activity_at": format_time(thread.last_activity_at),
        "message_count": thread.message_count,
    }


HIDDEN_HTML = "<p><em>Hidden by a moderator.</em></p>\n"


def message_view(message: Message, author: User, *, reveal: bool = True) -> dict[str, Any]:
    """A message as shown. A hidden one shows a placeholder unless ``reveal`` (its author and
    moderators still read it)."""
    shown = reveal or not message.hidden
    return {
        "id": message.id,
        "thread_id": message.thread_id,
        "body": message.body if shown else "",
        "html": message.html if shown else HIDDEN_HTML,
        "author": author_view(author),
        "created_at": format_time(message.created_at),
        "edited_at": format_time(message.edited_at) if message.edited_at else None,
        "hidden": message.hidden,
    }
