"""What both feed formats share: the feed's identity and stable entry ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class FeedInfo:
    base_url: str
    country: str
    country_name: str
    updated: str  # RFC 3339; the newest entry's update, or the epoch for an empty feed

    @property
    def title(self) -> str:
        return f"{self.country_name}: network resilience measures on GNRP Live"

    @property
    def description(self) -> str:
        return f"Measures that keep networks running in a crisis, in {self.country_name}."

    @property
    def page_url(self) -> str:
        return f"{self.base_url}/countries/{self.country}"

    @property
    def atom_url(self) -> str:
        return f"{self.page_url}/feed.atom"

    @property
    def json_url(self) -> str:
        return f"{self.page_url}/feed.json"

    @property
    def feed_id(self) -> str:
        return f"tag:{urlsplit(self.base_url).hostname},2020:gnrp-live/country/{self.country}"


def entry_id(info: FeedInfo, initiative: dict[str, Any]) -> str:
    """Stable for the life of the initiative: its id, never its title or dates."""
    return f"tag:{urlsplit(info.base_url).hostname},2020:gnrp-live/initiative/{initiative['id']}"
