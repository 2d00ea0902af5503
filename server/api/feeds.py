"""Country feeds (Atom, JSON Feed) with ETags, and the initiatives CSV export."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.api.initiatives import filters_of
from server.domain.errors import NotFound
from server.feeds.atom import atom_feed
from server.feeds.common import FeedInfo
from server.feeds.jsonfeed import json_feed
from server.feeds.spreadsheet import csv_rows
from server.services import initiatives
from server.services.countries import countries

FEED_CACHE = "public, max-age=300"


async def _feed(request: Request, kind: str) -> Response:
    services = request.state.services
    country = countries().get(request.path_params["cc"].upper())
    if country is None:
        raise NotFound("no such country")
    items = await initiatives.latest_of_country(services, country=country.code)
    updated = max((i["updated_at"] for i in items), default="1970-01-01T00:00:00.000Z")
    info = FeedInfo(services.settings.base_url, country.code, country.name, updated)
    if kind == "atom":
        body, media_type = atom_feed(info, items), "application/atom+xml; charset=utf-8"
    else:
        body, media_type = json_feed(info, items), "application/feed+json; charset=utf-8"
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": FEED_CACHE}
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def atom(request: Request) -> Response:
    return await _feed(request, "atom")


async def json(request: Request) -> Response:
    return await _feed(request, "json")


async def initiatives_csv(request: Request) -> Response:
    rows = await initiatives.export_initiatives(request.state.services, filters=filters_of(request))
    return StreamingResponse(
        csv_rows(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="initiatives.csv"'},
    )


routes = [
    Route("/countries/{cc}/feed.atom", atom, methods=["GET"]),
    Route("/countries/{cc}/feed.json", json, methods=["GET"]),
    Route("/api/initiatives.csv", initiatives_csv, methods=["GET"]),
]
