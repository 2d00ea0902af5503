"""Signup, sign-in, sessions, profile and API tokens over HTTP, with their bad inputs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx
from sqlmodel import update

from server.db.models import ApiToken, AuthSession, User
from server.services.context import Services
from server.settings import Settings
from tests.conftest import ClientFactory
from tests.helpers import PASSWORD, count, make_user, signed_in

SIGNUP = {
    "email": "Amina@Regulator.example",
    "password": "a long enough secret",
    "display_name": "Amina K.",
    "handle": "amina",
    "organization": "Communications Authority",
    "stakeholder": "regulator",
    "country": "ke",
}


async def test_signup_opens_a_session_and_me_shows_the_profile(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/signup", json=SIGNUP)
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert user["email"] == "amina@regulator.example"
    assert user["handle"] == "amina"
    assert user["country"] == "KE"
    assert user["role"] == "member"
    assert "password" not in response.text and "argon2" not in response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http in the tests

    me = await client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user["id"]


async def test_session_cookie_is_secure_when_the_site_is_https(
    settings: Settings, client_with: Callable[[Settings], Awaitable[httpx.AsyncClient]]
) -> None:
    https_client = await client_with(replace(settings, base_url="https://gnrp.test"))
    response = await https_client.post("/api/auth/signup", json=SIGNUP)
    assert response.status_code == 201
    assert "Secure" in response.headers["set-cookie"]


async def test_duplicate_email_in_any_case_is_409_and_stores_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    assert (await client.post("/api/auth/signup", json=SIGNUP)).status_code == 201
    again = {**SIGNUP, "email": "AMINA@regulator.EXAMPLE", "handle": "amina2"}
    response = await client.post("/api/auth/signup", json=again)
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"email": "taken"}
    assert await count(services, User) == 1


async def test_duplicate_handle_is_409(client: httpx.AsyncClient, services: Services) -> None:
    assert (await client.post("/api/auth/signup", json=SIGNUP)).status_code == 201
    response = await client.post(
        "/api/auth/signup", json={**SIGNUP, "email": "other@example.org", "handle": "AMINA"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"handle": "taken"}
    assert await count(services, User) == 1


async def test_weak_passwords_are_400_naming_the_field(
    client: httpx.AsyncClient, services: Services
) -> None:
    for password in ("short", "123456789", "amina@regulator.example", "AMINA@Regulator.example"):
        response = await client.post("/api/auth/signup", json={**SIGNUP, "password": password})
        assert response.status_code == 400, password
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert "password" in error["fields"]
    assert await count(services, User) == 0
    assert await count(services, AuthSession) == 0


async def test_malformed_json_wrong_types_and_unknown_fields_are_400_with_fields(
    client: httpx.AsyncClient, services: Services
) -> None:
    malformed = await client.post(
        "/api/auth/signup", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["fields"] == {"body": "not valid JSON"}

    not_an_object = await client.post("/api/auth/signup", json=["a", "b"])
    assert not_an_object.status_code == 400
    assert "body" in not_an_object.json()["error"]["fields"]

    wrong_type = await client.post("/api/auth/signup", json={**SIGNUP, "handle": 42})
    assert wrong_type.status_code == 400
    assert "handle" in wrong_type.json()["error"]["fields"]

    unknown = await client.post("/api/auth/signup", json={**SIGNUP, "role": "admin"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"role": "unknown field"}

    bad_choice = await client.post("/api/auth/signup", json={**SIGNUP, "stakeholder": "hacker"})
    assert bad_choice.status_code == 400
    assert "stakeholder" in bad_choice.json()["error"]["fields"]

    assert await count(services, User) == 0


async def test_body_over_one_mebibyte_is_413_and_stores_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    huge = {**SIGNUP, "organization": "x" * (1024 * 1024)}
    response = await client.post("/api/auth/signup", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"

    # Without a Content-Length the body is counted as it arrives.
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * (64 * 1024)

    streamed = await client.post(
        "/api/auth/signup", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert await count(services, User) == 0


async def test_login_logout_and_revoked_session(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    user = await signed_in(client, services)
    assert (await client.get("/api/me")).json()["user"]["email"] == user.email
    old_cookie = client.cookies.get("gnrp_session")

    logout = await client.post("/api/auth/logout")
    assert logout.status_code == 204
    assert (await client.get("/api/me")).status_code == 401

    # Replaying the old cookie after logout: the session was revoked on the server.
    replay = await new_client()
    replay.cookies.set("gnrp_session", old_cookie or "")
    assert (await replay.get("/api/me")).status_code == 401


async def test_wrong_password_is_401_and_unknown_email_looks_the_same(
    client: httpx.AsyncClient, services: Services
) -> None:
    user = await make_user(services)
    wrong = await client.post("/api/auth/login", json={"email": user.email, "password": "nope" * 3})
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.org", "password": "nope" * 3}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert await count(services, AuthSession) == 0


class CountingHasher:
    """Wraps the real hasher and counts the calls that reach it."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.verify_calls = 0

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)  # type: ignore[no-any-return]

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verify_calls += 1
        return await self.inner.verify(password_hash, password)  # type: ignore[no-any-return]


async def test_repeated_wrong_passwords_get_429_before_any_hashing(
    client: httpx.AsyncClient, services: Services
) -> None:
    user = await make_user(services)
    spy = CountingHasher(services.hasher)
    services.hasher = spy  # type: ignore[assignment]
    limit = services.settings.login_attempts_per_account
    for _ in range(limit):
        response = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "wrong password!"}
        )
        assert response.status_code == 401
    assert spy.verify_calls == limit

    for password in ("wrong password!", PASSWORD):  # even the right password waits now
        blocked = await client.post(
            "/api/auth/login", json={"email": user.email.upper(), "password": password}
        )
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "rate_limited"
        assert int(blocked.headers["Retry-After"]) >= 1
    assert spy.verify_calls == limit  # the hasher was not called for the refused attempts
    assert await count(services, AuthSession) == 0


async def test_attempts_are_limited_per_address_across_accounts(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.settings = replace(services.settings, login_attempts_per_address=3)
    for n in range(3):
        response = await client.post(
            "/api/auth/login", json={"email": f"guess{n}@example.org", "password": "x" * 12}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/auth/login", json={"email": "another@example.org", "password": "x" * 12}
    )
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers


async def test_patch_me_changes_preferences_and_refuses_bad_values(
    client: httpx.AsyncClient, services: Services
) -> None:
    await signed_in(client, services)
    response = await client.patch(
        "/api/me", json={"digest": "weekly", "language": "fr", "display_name": "  Nadia  "}
    )
    assert response.status_code == 200
    user = response.json()["user"]
    assert (user["digest"], user["language"], user["display_name"]) == ("weekly", "fr", "Nadia")

    for body in ({"digest": "hourly"}, {"role": "admin"}, {"language": "not a language"}):
        refused = await client.patch("/api/me", json=body)
        assert refused.status_code == 400, body
    me = (await client.get("/api/me")).json()["user"]
    assert (me["digest"], me["language"], me["role"]) == ("weekly", "fr", "member")


async def test_api_tokens_are_shown_once_stored_hashed_and_revocable(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    await signed_in(client, services)
    created = await client.post("/api/tokens", json={"name": "monitoring script"})
    assert created.status_code == 201
    token = created.json()["token"]
    secret = token["secret"]
    assert secret.startswith("gnrp_")

    listed = (await client.get("/api/tokens")).json()["tokens"]
    assert [t["id"] for t in listed] == [token["id"]]
    assert "secret" not in listed[0] and secret not in str(listed)
    async with services.read() as session:
        stored = await session.get(ApiToken, token["id"])
        assert stored is not None and secret not in stored.token_hash

    script = await new_client()
    del script.headers["Origin"]  # scripts send no Origin; bearer requests need none
    script.headers["Authorization"] = f"Bearer {secret}"
    assert (await script.get("/api/me")).status_code == 200
    assert (await script.patch("/api/me", json={"digest": "off"})).status_code == 200

    assert (await client.delete(f"/api/tokens/{token['id']}")).status_code == 204
    assert (await script.get("/api/me")).status_code == 401
    assert (await client.delete(f"/api/tokens/{token['id']}")).status_code == 404


async def test_disabled_account_sessions_and_tokens_are_401(
    new_client: ClientFactory, services: Services
) -> None:
    client = await new_client()
    user = await signed_in(client, services)
    secret = (await client.post("/api/tokens", json={"name": "cron"})).json()["token"]["secret"]
    script = await new_client()
    script.headers["Authorization"] = f"Bearer {secret}"
    assert (await script.get("/api/me")).status_code == 200

    async with services.write() as tx:
        await tx.session.exec(update(User).where(User.id == user.id).values(disabled=True))  # type: ignore[arg-type]

    assert (await client.get("/api/me")).status_code == 401
    assert (await script.get("/api/me")).status_code == 401
    again = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 401
    sessions_before = await count(services, AuthSession)
    assert sessions_before == 1  # the login refused above opened nothing


async def test_a_bad_bearer_token_is_401(new_client: ClientFactory) -> None:
    script = await new_client()
    script.headers["Authorization"] = "Bearer gnrp_not-a-real-token"
    response = await script.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
