"""Initiatives over HTTP: who may publish, the timeline, verification, filters, bad input."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import update

from server.db.models import AuditEntry, Event, Initiative, InitiativeEntry, Thread, User
from server.services.context import Services
from tests.conftest import ClientFactory
from tests.helpers import count, signed_in

MEASURE: dict[str, Any] = {
    "country": "KE",
    "title": "Temporary spectrum for mobile operators",
    "summary": "The Communications Authority assigned **extra spectrum** for 90 days.",
    "theme": "spectrum",
    "stakeholder": "regulator",
    "instrument": "mandatory",
    "status": "active",
    "phase": "emergency",
    "announced_on": "2020-03-20",
    "starts_on": "2020-03-23",
    "ends_on": "2020-06-21",
    "sources": ["https://www.ca.go.ke/"],
}


async def _regulator(client: httpx.AsyncClient, services: Services, country: str = "KE") -> Any:
    user = await signed_in(client, services, role="regulator")
    async with services.write() as tx:
        await tx.session.exec(update(User).where(User.id == user.id).values(country=country))  # type: ignore[arg-type]
    return user


async def _stored(services: Services) -> tuple[int, int, int, int]:
    return (
        await count(services, Initiative),
        await count(services, InitiativeEntry),
        await count(services, Thread),
        await count(services, Event),
    )


async def test_a_regulator_publishes_for_their_country_with_a_discussion_thread(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await _regulator(client, services)
    response = await client.post("/api/initiatives", json=MEASURE)
    assert response.status_code == 201, response.text
    created = response.json()["initiative"]
    assert created["country"] == "KE" and created["region"] == "africa"
    assert "assigned <strong>extra spectrum</strong> for 90 days" in created["summary_html"]
    assert created["verification"]["state"] == "unverified"

    record = (await client.get(f"/api/initiatives/{created['id']}")).json()["initiative"]
    assert [entry["kind"] for entry in record["timeline"]] == ["new"]
    thread = (await client.get(f"/api/threads/{record['thread_id']}")).json()
    assert thread["room"]["slug"] == "spectrum-measures"
    assert thread["thread"]["countries"] == ["KE"]

    for stream in ("country:KE", "initiatives"):
        events = (await client.get(f"/api/streams/{stream}/events")).json()["events"]
        assert "initiative.created" in [event["name"] for event in events]
    counts = {
        c["code"]: c["initiatives"]
        for c in (await client.get("/api/countries")).json()["countries"]
    }
    assert counts["KE"] == 1 and counts["US"] == 0


async def test_bad_fields_are_400_naming_the_field_and_store_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    before = await _stored(services)
    cases = [
        ({"country": "XX"}, "country"),
        ({"country": "Kenya"}, "country"),
        ({"theme": "weather"}, "theme"),
        ({"starts_on": "2020-06-01", "ends_on": "2020-05-01"}, "ends_on"),
        ({"sources": ["javascript:alert(1)"]}, "sources"),
        ({"sources": ["ftp://example.org/file"]}, "sources"),
        ({"sources": ["not a url"]}, "sources"),
        ({"status": "paused"}, "status"),
        ({"starts_on": "yesterday"}, "starts_on"),
        ({"summary": "   "}, "summary"),
        ({"owner": 1}, "owner"),
    ]
    for change, field in cases:
        response = await client.post("/api/initiatives", json={**MEASURE, **change})
        assert response.status_code == 400, (change, response.text)
        assert field in response.json()["error"]["fields"], (change, response.json())
    assert await _stored(services) == before


async def test_only_regulators_of_the_country_and_moderators_publish(
    new_client: ClientFactory, services: Services
) -> None:
    before = await _stored(services)
    member = await new_client()
    await signed_in(member, services)
    assert (await member.post("/api/initiatives", json=MEASURE)).status_code == 403
    foreign = await new_client()
    await _regulator(foreign, services, country="GH")
    assert (await foreign.post("/api/initiatives", json=MEASURE)).status_code == 403
    anonymous = await new_client()
    assert (await anonymous.post("/api/initiatives", json=MEASURE)).status_code == 401
    assert await _stored(services) == before

    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    assert (
        await moderator.post("/api/initiatives", json={**MEASURE, "country": "us"})
    ).status_code == 201


async def test_edits_are_timeline_entries_that_keep_earlier_values(
    new_client: ClientFactory, services: Services
) -> None:
    owner = await new_client()
    await _regulator(owner, services)
    created = (await owner.post("/api/initiatives", json=MEASURE)).json()["initiative"]
    path = f"/api/initiatives/{created['id']}"

    edited = await owner.patch(
        path, json={"kind": "correction", "note": "typo", "title": "Temporary spectrum"}
    )
    assert edited.status_code == 200
    extended = await owner.post(
        f"{path}/entries",
        json={"kind": "extension", "note": "90 more days", "effective_on": "2020-09-19"},
    )
    assert extended.status_code == 201
    assert extended.json()["initiative"]["status"] == "extended"
    assert extended.json()["initiative"]["ends_on"] == "2020-09-19"

    record = (await owner.get(path)).json()["initiative"]
    timeline = record["timeline"]
    assert [entry["kind"] for entry in timeline] == ["new", "correction", "extension"]
    assert timeline[1]["replaced"] == {"title": MEASURE["title"]}
    assert timeline[2]["replaced"] == {"status": "active", "ends_on": "2020-06-21"}

    other = await new_client()
    await _regulator(other, services)
    assert (await other.patch(path, json={"title": "Mine now"})).status_code == 403
    bad_dates = await owner.patch(path, json={"ends_on": "2019-01-01"})
    assert bad_dates.status_code == 400 and "ends_on" in bad_dates.json()["error"]["fields"]
    assert [e["kind"] for e in (await owner.get(path)).json()["initiative"]["timeline"]] == [
        "new", "correction", "extension",
    ]  # fmt: skip


async def test_moderators_verify_with_an_audit_entry(
    new_client: ClientFactory, services: Services
) -> None:
    owner = await new_client()
    await _regulator(owner, services)
    created = (await owner.post("/api/initiatives", json=MEASURE)).json()["initiative"]
    path = f"/api/initiatives/{created['id']}/verification"
    assert (await owner.put(path, json={"state": "verified", "note": "mine"})).status_code == 403
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    bad = await moderator.put(path, json={"state": "maybe"})
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]
    audit_before = await count(services, AuditEntry)
    verified = await moderator.put(path, json={"state": "verified", "note": "checked the gazette"})
    assert verified.status_code == 200
    verification = verified.json()["initiative"]["verification"]
    assert verification["state"] == "verified" and verification["note"] == "checked the gazette"
    assert verification["by"] is not None and verification["at"].endswith("Z")
    assert await count(services, AuditEntry) == audit_before + 1
    events = (await owner.get("/api/streams/country:KE/events")).json()["events"]
    assert events[-1]["name"] == "initiative.verification"


async def test_filters_and_cursor_pagination(new_client: ClientFactory, services: Services) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    for country, theme in (
        ("KE", "spectrum"),
        ("GH", "relief"),
        ("US", "spectrum"),
        ("BR", "consumer"),
    ):
        response = await moderator.post(
            "/api/initiatives", json={**MEASURE, "country": country, "theme": theme}
        )
        assert response.status_code == 201
    anonymous = await new_client()

    async def countries(query: str) -> list[str]:
        body = (await anonymous.get(f"/api/initiatives?{query}")).json()
        return [row["country"] for row in body["initiatives"]]

    assert await countries("theme=spectrum") == ["US", "KE"]
    assert await countries("region=africa") == ["GH", "KE"]
    assert await countries("country=br") == ["BR"]
    assert await countries("verification=verified") == []
    first = (await anonymous.get("/api/initiatives?limit=3")).json()
    assert first["total"] == 4 and len(first["initiatives"]) == 3
    rest = (await anonymous.get(f"/api/initiatives?limit=3&cursor={first['cursor']}")).json()
    assert [row["country"] for row in rest["initiatives"]] == ["KE"] and rest["cursor"] is None

    for query, field in (
        ("theme=weather", "theme"),
        ("region=mars", "region"),
        ("country=ZZ", "country"),
        ("cursor=forged", "cursor"),
    ):
        response = await anonymous.get(f"/api/initiatives?{query}")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], query


HOSTILE_QUERIES = [
    '"health',
    "health*",
    "NEAR(health ministry)",
    "health OR mhz",
    "((health",
    "'; DROP TABLE initiatives; --",
    "x" * 5000,
    '* ( ) \\ "',
    "ünïcödé",
]
SEARCHABLE = [
    ("KE", "Zero-rating of health sites", "Operators zero-rate the **ministry of health** portal."),
    ("GH", "Emergency spectrum", "Temporary 700 MHz assignments for mobile broadband."),
    ("US", "Keep Americans Connected", "Providers pledge not to disconnect customers."),
]


async def test_full_text_search_gives_the_same_answers_on_both_databases(
    new_client: ClientFactory, services: Services
) -> None:
    moderator = await new_client()
    await signed_in(moderator, services, role="moderator")
    ids = {}
    for country, title, summary in SEARCHABLE:
        created = await moderator.post(
            "/api/initiatives",
            json={**MEASURE, "country": country, "title": title, "summary": summary},
        )
        ids[country] = created.json()["initiative"]["id"]
    # A timeline note is searchable too.
    await moderator.post(
        f"/api/initiatives/{ids['US']}/entries",
        json={"kind": "extension", "note": "To June thirtieth", "effective_on": "2020-06-30"},
    )

    async def found(q: str, extra: str = "") -> list[str]:
        response = await moderator.get("/api/initiatives", params={"q": q} | _params(extra))
        assert response.status_code == 200, (q, response.text)
        return sorted(row["country"] for row in response.json()["initiatives"])

    assert await found("health") == ["KE"]
    assert await found("HEALTH ministry") == ["KE"]
    assert await found("mhz") == ["GH"]
    assert await found("thirtieth") == ["US"]
    assert await found("temporary") == ["GH"]
    assert await found("spectrum", "theme=relief") == []
    assert await found("zero rating") == ["KE"]
    assert await found("health broadband") == []  # every word is required
    # Operators and syntax are words or nothing, never errors.
    for hostile in HOSTILE_QUERIES:
        response = await moderator.get("/api/initiatives", params={"q": hostile})
        assert response.status_code == 200, hostile
    assert await found("((health ministry") == ["KE"]  # brackets are nothing
    assert await found("NEAR(health ministry)") == []  # NEAR is just a word, not in any text
    assert await found("health OR mhz") == []  # so is OR: all three words are required
    assert await count(services, Initiative) == 3


def _params(extra: str) -> dict[str, str]:
    return dict(pair.split("=") for pair in extra.split("&") if pair)
