"""Cross-site writes, hosts, headers, sanitised Markdown, and errors that are always JSON."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from html.parser import HTMLParser

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.app import create_app
from server.db.models import ApiToken, Message, Room
from server.services.context import Services
from server.settings import Settings
from tests.conftest import SITE, ClientFactory
from tests.helpers import count, make_room, make_thread, signed_in

XSS_BODIES = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<svg onload="alert(1)"><circle /></svg>',
    "![x](javascript:alert(1))",
    "<details open ontoggle=alert(1)>",
    "[ok](https://example.org) and <b onmouseover=alert(1)>bold</b>",
]


class _Elements(HTMLParser):
    """Collects the elements and attributes that a browser would actually build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def assert_harmless(html: str) -> None:
    elements = _Elements()
    elements.feed(html)
    assert not {"script", "img", "iframe", "svg", "details", "b"} & set(elements.tags), html
    for name, value in elements.attributes:
        assert not name.startswith("on"), html
        assert "javascript:" not in value.lower(), html
        if name == "href":
            assert value.startswith(("https://", "http://", "mailto:")), html


@pytest.mark.parametrize("body", XSS_BODIES)
async def test_markdown_payloads_never_reach_stored_or_returned_html(
    new_client: ClientFactory, services: Services, body: str
) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="resilience")
    thread = await make_thread(client, slug="resilience", body=body)
    reply = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": body})
    assert reply.status_code == 201
    assert_harmless(reply.json()["message"]["html"])
    edit = await client.patch(f"/api/messages/{reply.json()['message']['id']}", json={"body": body})
    assert_harmless(edit.json()["message"]["html"])

    snapshot = (await client.get(f"/api/threads/{thread['id']}")).json()
    for message in snapshot["messages"]:
        assert_harmless(message["html"])
    events = (await client.get("/api/streams/room:resilience/events")).json()["events"]
    for event in events:
        if "message" in event["data"]:
            assert_harmless(event["data"]["message"]["html"])
    async with services.read() as session:
        from sqlmodel import select

        for stored in (await session.exec(select(Message))).all():
            assert_harmless(stored.html)


async def test_links_get_nofollow_noopener(new_client: ClientFactory, services: Services) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    await make_room(client, slug="links")
    thread = await make_thread(client, slug="links", body="See [the order](https://fcc.gov/x)")
    snapshot = (await client.get(f"/api/threads/{thread['id']}")).json()
    assert snapshot["messages"][0]["html"] == (
        '<p>See <a href="https://fcc.gov/x" rel="nofollow noopener">the order</a></p>\n'
    )


async def test_cross_site_post_with_a_valid_cookie_is_403_and_stores_nothing(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await signed_in(client, services, role="moderator")
    rooms_before = await count(services, Room)
    await make_room(client, slug="target")
    thread = await make_thread(client, slug="target")
    messages = await count(services, Message)

    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://gnrp.test.evil.example"},
    ):
        client.headers.update(headers)
        post = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": "pwned"})
        assert post.status_code == 403, headers
        assert post.json()["error"]["code"] == "forbidden"
        room = await client.post("/api/rooms", json={"slug": "evil", "title": "Evil"})
        assert room.status_code == 403
        token = await client.post("/api/tokens", json={"name": "stolen"})
        assert token.status_code == 403

    # No Origin at all, with the cookie, and no same-origin fetch metadata: refused too.
    del client.headers["Origin"]
    assert (
        await client.post(f"/api/threads/{thread['id']}/messages", json={"body": "pwned"})
    ).status_code == 403
    # A same-origin fetch that only sends Sec-Fetch-Site is allowed.
    client.headers["Sec-Fetch-Site"] = "same-origin"
    ok = await client.post(f"/api/threads/{thread['id']}/messages", json={"body": "mine"})
    assert ok.status_code == 201

    assert await count(services, Message) == messages + 1
    assert await count(services, Room) == rooms_before + 1
    assert await count(services, ApiToken) == 0


async def test_reading_cross_site_is_not_blocked(new_client: ClientFactory) -> None:
    client = await new_client()
    client.headers["Origin"] = "https://evil.example"
    assert (await client.get("/api/rooms")).status_code == 200


async def test_bad_host_header_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/rooms", headers={"Host": "attacker.example"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"host": "not allowed"}
    assert (await client.get("/api/rooms", headers={"Host": "gnrp.test:443"})).status_code == 200


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/api/rooms", "/nowhere", "/healthz"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]


async def test_404_405_and_crashes_answer_json_not_html(services: Services) -> None:
    async def explode(_request: Request) -> Response:
        raise RuntimeError("boom")

    app = create_app(services=services)
    app.router.routes.append(Route("/api/explode", explode))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url=SITE,
        ) as client,
    ):
        missing = await client.get("/api/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        wrong_method = await client.delete("/api/rooms", headers={"Origin": SITE})
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"]["code"] == "method_not_allowed"
        crash = await client.get("/api/explode")
        assert crash.status_code == 500
        assert crash.headers["content-type"] == "application/json"
        assert crash.json()["error"]["code"] == "internal"
        assert "boom" not in crash.text and "Traceback" not in crash.text


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    # Probes call by address: health checks answer whatever the Host.
    assert (await client.get("/healthz", headers={"Host": "10.0.0.7:8000"})).status_code == 200


async def test_readiness_checks_redis_when_configured(
    settings: Settings, client_with: Callable[[Settings], Awaitable[httpx.AsyncClient]]
) -> None:
    redis_url = os.environ.get("GNRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with_redis = await client_with(replace(settings, redis_url=redis_url))
    ready = await with_redis.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}

    # A Redis that does not answer (a closed port on loopback) makes the process not ready.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    without = await client_with(replace(settings, redis_url=f"redis://127.0.0.1:{closed_port}/0"))
    not_ready = await without.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["redis"].startswith("unreachable")
    assert not_ready.json()["checks"]["database"] == "ok"
