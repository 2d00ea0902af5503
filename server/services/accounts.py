"""Accounts: signup, sign-in with limits, server-side sessions, API tokens, profile changes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from server.db.models import ApiToken, AuthSession, User
from server.domain import accounts as rules
from server.domain.errors import Conflict, NotFound, RateLimited, Unauthorized, invalid_field
from server.domain.permissions import ROLES, Role, Viewer
from server.domain.streams import CONTROL_STREAM
from server.services.context import Services

TOKEN_PREFIX = "gnrp_"


def _digest(secret: str) -> str:
    # Session ids and API tokens are 256-bit random secrets: a fast hash is enough to make a leaked
    # table useless, and it keeps every authenticated request cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewAccount:
    email: str
    password: str
    display_name: str
    handle: str
    organization: str = ""
    stakeholder: rules.Stakeholder = "other"
    country: str | None = None
    role: str = "member"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for, and through which credential (sessions can be revoked by id)."""

    user: User
    session_id: str | None = None
    token_id: int | None = None

    @property
    def viewer(self) -> Viewer:
        assert self.user.id is not None
        return Viewer(user_id=self.user.id, role=cast(Role, self.user.role))


async def create_user(services: Services, account: NewAccount) -> User:
    email = rules.normalise_email(account.email)
    handle = rules.normalise_handle(account.handle)
    rules.check_password(account.password, email=email)
    display_name = rules.check_display_name(account.display_name)
    country = rules.normalise_country(account.country)
    if account.role not in ROLES:
        raise invalid_field("role", f"must be one of {', '.join(ROLES)}")
    password_hash = await services.hasher.hash(account.password)
    async with services.read() as session:
        taken = await session.exec(
            select(User.email, User.handle).where(
                (col(User.email) == email) | (col(User.handle) == handle)
            )
        )
        for taken_email, _taken_handle in taken.all():
            if taken_email == email:
                raise Conflict("an account with this e-mail exists", fields={"email": "taken"})
            raise Conflict("this handle is taken", fields={"handle": "taken"})
    try:
        async with services.write() as tx:
            user = User(
                email=email,
                password_hash=password_hash,
                display_name=display_name,
                handle=handle,
                organization=account.organization.strip()[:200],
                stakeholder=account.stakeholder,
                country=country,
                role=account.role,
                created_at=tx.now,
            )
            tx.session.add(user)
    except IntegrityError:  # a concurrent signup took the e-mail or the handle
        raise Conflict("an account with this e-mail or handle exists") from None
    return user


async def login(
    services: Services, *, email: str, password: str, address: str, user_agent: str
) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the cookie's secret.

    Attempts are limited per account and per address, and the limit is checked before any hashing
    so that a flood of guesses costs the server nothing.
    """
    settings = services.settings
    email = email.strip().lower()
    window = settings.login_window_seconds
    keys = ((f"login:account:{email}", settings.login_attempts_per_account),
            (f"login:address:{address}", settings.login_attempts_per_address))  # fmt: skip
    wait = max([await services.limiter.retry_after(k, limit=n, window=window) for k, n in keys])
    if wait:
        raise RateLimited("too many sign-in attempts; try again later", retry_after=wait)

    async with services.read() as session:
        found = await session.exec(select(User).where(User.email == email))
        user: User | None = found.first()
    ok = await services.hasher.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        for key, _limit in keys:
            await services.limiter.hit(key, window=window)
        raise Unauthorized("wrong e-mail or password")
    await services.limiter.reset(keys[0][0])

    secret = await open_session(services, user=user, address=address, user_agent=user_agent)
    return user, secret


async def open_session(services: Services, *, user: User, address: str, user_agent: str) -> str:
    """A session for a user who just proved who they are (signup); returns the cookie's secret."""
    assert user.id is not None
    secret = secrets.token_urlsafe(32)
    async with services.write() as tx:
        tx.session.add(
            AuthSession(
                id=_digest(secret),
                user_id=user.id,
                created_at=tx.now,
                expires_at=tx.now + timedelta(days=services.settings.session_days),
                address=address[:64],
                user_agent=user_agent[:300],
            )
        )
    return secret


async def logout(services: Services, *, session_id: str) -> None:
    """Revoke the session; sockets opened with it, on any process, close with 1008."""
    async with services.write() as tx:
        await tx.session.exec(
            update(AuthSession)
            .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=tx.now)
        )
        tx.signal(CONTROL_STREAM, {"type": "revoked", "session_id": session_id})


async def set_disabled(services: Services, *, user_id: int, disabled: bool) -> None:
    """Disable (or re-enable) an account. Its sessions and tokens stop working at once, and its
    open sockets, on every process, close with 1008. Who may do this is the caller's check."""
    async with services.write() as tx:
        user = await tx.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        user.disabled = disabled
        tx.session.add(user)
        if disabled:
            tx.signal(CONTROL_STREAM, {"type": "revoked", "user_id": user_id})


async def principal_from_session(services: Services, cookie_secret: str) -> Principal | None:
    session_id = _digest(cookie_secret)
    now = services.clock()
    async with services.read() as session:
        result = await session.exec(
            select(User, AuthSession)
            .join(AuthSession, col(AuthSession.user_id) == col(User.id))
            .where(AuthSession.id == session_id)
        )
        row = result.first()
    if row is None:
        return None
    user, auth_session = row
    if auth_session.revoked_at is not None or auth_session.expires_at <= now or user.disabled:
        return None
    return Principal(user=user, session_id=session_id)


async def principal_from_token(services: Services, bearer: str) -> Principal | None:
    if not bearer.startswith(TOKEN_PREFIX):
        return None
    async with services.read() as session:
        result = await session.exec(
            select(User, ApiToken)
            .join(ApiToken, col(ApiToken.user_id) == col(User.id))
            .where(ApiToken.token_hash == _digest(bearer))
        )
        row = result.first()
    if row is None:
        return None
    user, token = row
    if token.revoked_at is not None or user.disabled:
        return None
    return Principal(user=user, token_id=token.id)


async def create_token(services: Services, *, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned here and never again."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise invalid_field("name", "must be 1 to 100 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with services.write() as tx:
        token = ApiToken(
            user_id=user_id,
            name=name,
            token_hash=_digest(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 4],
            created_at=tx.now,
        )
        tx.session.add(token)
    return token, secret


async def list_tokens(services: Services, *, user_id: int) -> list[ApiToken]:
    async with services.read() as session:
        result = await session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.id))
        )
        return list(result.all())


async def revoke_token(services: Services, *, user_id: int, token_id: int) -> None:
    async with services.write() as tx:
        result = await tx.session.exec(
            update(ApiToken)
            .where(
                col(ApiToken.id) == token_id,
                col(ApiToken.user_id) == user_id,
                col(ApiToken.revoked_at).is_(None),
            )
            .values(revoked_at=tx.now)
        )
        if result.rowcount == 0:
            raise NotFound("no such token")


async def update_profile(
    services: Services,
    *,
    user_id: int,
    display_name: str | None = None,
    organization: str | None = None,
    digest: str | None = None,
    language: str | None = None,
    country: str | None = None,
) -> User:
    async with services.write() as tx:
        user = await tx.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        if display_name is not None:
            user.display_name = rules.check_display_name(display_name)
        if organization is not None:
            user.organization = organization.strip()[:200]
        if digest is not None:
            user.digest = digest
        if language is not None:
            user.language = rules.check_language(language)
        if country is not None:
            user.country = rules.normalise_country(country)
        tx.session.add(user)
    return user


async def find_user_by_email(services: Services, email: str) -> User | None:
    async with services.read() as session:
        return (await session.exec(select(User).where(User.email == email.strip().lower()))).first()


async def count_users(services: Services) -> int:
    async with services.read() as session:
        result = await session.exec(select(func.count()).select_from(User))
        return int(result.one())
