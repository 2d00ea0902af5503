"""What a notification is, who is mentioned in a message, and which follow level applies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from server.domain.markdown import _parser

NotificationKind = Literal["mention", "reply", "answer_pinned", "initiative", "thread"]
InitiativeReason = Literal["created", "updated", "verified", "ending"]
FollowLevel = Literal["live", "digest", "mute"]

# How soon an end date must be for followers to hear that a measure is ending.
ENDING_WITHIN_DAYS = 14
EXCERPT_CHARS = 280
MAX_MENTIONS = 50  # a message naming more people than this notifies the first 50

# A handle as accounts define it, after an @ that does not sit inside a word or an e-mail address.
_MENTION = re.compile(r"(?<![\w@.+-])@([a-z0-9][a-z0-9_.-]{1,29})", re.IGNORECASE)


# What each notification is, by kind (and reason, for initiatives): one wording for the pages,
# the page script (which gets them from the page) and the e-mail digests.
LABELS = {
    "mention": "Mention",
    "reply": "Reply",
    "thread": "New thread",
    "answer_pinned": "Answer pinned",
    "initiative": "Measure",
    "initiative.created": "New measure",
    "initiative.updated": "Measure updated",
    "initiative.verified": "Measure verified",
    "initiative.disputed": "Measure disputed",
    "initiative.ending": "Measure ending soon",
}


def notification_label(kind: str, reason: str | None) -> str:
    return LABELS.get(f"{kind}.{reason}") or LABELS.get(kind, kind)


def mentioned_handles(body: str) -> list[str]:
    """The handles @-mentioned in a Markdown body, in order, once each. Code spans and code
    blocks are not read: ``@admin`` in a pasted config file mentions nobody."""
    found: dict[str, None] = {}
    for token in _parser().parse(body):
        if token.type != "inline" or not token.children:
            continue
        for child in token.children:
            if child.type != "text":
                continue
            for match in _MENTION.finditer(child.content):
                # A sentence may end right after a handle: "thanks @amara."
                handle = match.group(1).lower().rstrip(".-_")
                if len(handle) >= 2:
                    found.setdefault(handle, None)
    return list(found)[:MAX_MENTIONS]


def most_specific_level(levels: Iterable[str | None]) -> str | None:
    """The level of the most specific follow (thread before room), or None if none is set."""
    for level in levels:
        if level is not None:
            return level
    return None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of plain-ish text for lists and e-mails."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
