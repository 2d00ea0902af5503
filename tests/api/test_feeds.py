"""Country feeds read by a real feed reader (feedparser), ETags, and the CSV export."""

from __future__ import annotations

import csv
import io

import feedparser

from server.services.context import Services
from tests.api.test_initiatives import MEASURE
from tests.conftest import ClientFactory
from tests.helpers import signed_in


async def test_atom_and_json_feeds_parse_with_stable_ids_and_etags(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    first = (await moderator.post("/api/initiatives", json=MEASURE)).json()["initiative"]
    await moderator.post("/api/initiatives", json={**MEASURE, "title": "Zero-rated health sites"})
    await moderator.post("/api/initiatives", json={**MEASURE, "country": "GH"})
    reader = await new_client()

    atom = await reader.get("/countries/ke/feed.atom")
    assert atom.status_code == 200
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert "max-age" in atom.headers["cache-control"]
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title.startswith("Kenya")
    assert [e.title for e in parsed.entries] == ["Zero-rated health sites", MEASURE["title"]]
    entry = parsed.entries[1]
    assert entry.link.endswith(f"/initiatives/{first['id']}")
    assert "<strong>extra spectrum</strong>" in entry.summary
    assert entry.updated_parsed is not None
    old_id = entry.id

    # An unchanged feed answers 304 to its ETag; a change makes a new ETag, with the same ids.
    etag = atom.headers["etag"]
    again = await reader.get("/countries/KE/feed.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    await moderator.patch(f"/api/initiatives/{first['id']}", json={"title": "Renamed measure"})
    changed = await reader.get("/countries/KE/feed.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    entries = feedparser.parse(changed.content).entries
    assert entries[0].title == "Renamed measure" and entries[0].id == old_id

    feed = await reader.get("/countries/KE/feed.json")
    assert feed.headers["content-type"].startswith("application/feed+json")
    # feedparser 6.0 reads no JSON Feed: check the JSON Feed 1.1 shape here.
    document = feed.json()
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"].endswith("/countries/KE/feed.json")
    assert [item["id"] for item in document["items"]] == [e.id for e in entries]
    for item in document["items"]:
        assert item["title"] and item["content_html"] and item["url"].startswith("http")
        assert item["date_modified"].endswith("Z") and "T" in item["date_published"]
    assert (
        await reader.get("/countries/KE/feed.json", headers={"If-None-Match": feed.headers["etag"]})
    ).status_code == 304

    assert (await reader.get("/countries/XX/feed.atom")).status_code == 404
    empty = feedparser.parse((await reader.get("/countries/FR/feed.atom")).content)
    assert not empty.bozo and empty.entries == []


async def test_csv_export_follows_the_filters_and_neutralises_formulas(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    await moderator.post(
        "/api/initiatives",
        json={**MEASURE, "title": '=HYPERLINK("https://evil.example","click")'},
    )
    await moderator.post("/api/initiatives", json={**MEASURE, "title": "@SUM(A1:A2)"})
    await moderator.post("/api/initiatives", json={**MEASURE, "country": "GH", "title": "+1 day"})
    await moderator.post(
        "/api/initiatives", json={**MEASURE, "country": "GH", "summary": "-2 days"}
    )
    reader = await new_client()

    response = await reader.get("/api/initiatives.csv?country=KE")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["title"] for row in rows] == [
        '\'=HYPERLINK("https://evil.example","click")',
        "'@SUM(A1:A2)",
    ]
    assert rows[0]["sources"] == "https://www.ca.go.ke/" and rows[0]["verification"] == "unverified"
    everything = list(csv.DictReader(io.StringIO((await reader.get("/api/initiatives.csv")).text)))
    assert len(everything) == 4
    assert {row["title"] for row in everything} >= {"'+1 day"}
    assert "'-2 days" in {row["summary"] for row in everything}
    bad = await reader.get("/api/initiatives.csv?theme=weather")
    assert bad.status_code == 400
