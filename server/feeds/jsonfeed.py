"""JSON Feed 1.1 of a country's initiatives."""

from __future__ import annotations

from typing import Any

import orjson

from server.feeds.common import FeedInfo, entry_id


def json_feed(info: FeedInfo, initiatives: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": info.title,
            "description": info.description,
            "home_page_url": info.page_url,
            "feed_url": info.json_url,
            "language": "en",
            "items": [
                {
                    "id": entry_id(info, initiative),
                    "url": f"{info.base_url}/initiatives/{initiative['id']}",
                    "title": initiative["title"],
                    "content_html": initiative["summary_html"],
                    "date_published": initiative["created_at"],
                    "date_modified": initiative["updated_at"],
                    "tags": [initiative["theme"], initiative["status"], initiative["phase"]],
                    "external_url": initiative["sources"][0] if initiative["sources"] else None,
                }
                for initiative in initiatives
            ],
        },
        option=orjson.OPT_OMIT_MICROSECONDS,
    )
