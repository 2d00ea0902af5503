"""``create_app(settings=None)``: the Starlette application. Nothing is built at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from server.api import (
    accounts,
    feeds,
    health,
    initiatives,
    metrics,
    moderation,
    notifications,
    rooms,
    streams,
    subscriptions,
    threads,
)
from server.api.auth import SESSION_COOKIE
from server.api.errors import EXCEPTION_HANDLERS
from server.api.middleware import (
    AccessLogMiddleware,
    AllowedHostsMiddleware,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
)
from server.bus import build_bus
from server.db.engine import build_engine, session_factory
from server.live import endpoint
from server.live.hub import Hub
from server.live.metrics import LiveMetrics
from server.live.presence import MemoryPresence, PresenceStore, RedisPresence
from server.pages import accounts as page_accounts
from server.pages import initiatives as page_initiatives
from server.pages import moderation as page_moderation
from server.pages import notifications as page_notifications
from server.pages import rooms as page_rooms
from server.pages.rendering import Pages
from server.services.context import Services
from server.services.passwords import PasswordHasher
from server.services.publishing import bus_publisher
from server.services.ratelimit import MemoryRateLimiter, RedisRateLimiter
from server.settings import Settings
from workers.mail import build_mailer
from workers.scheduler import InProcessScheduler


class State(TypedDict):
    services: Services
    hub: Hub
    pages: Pages


def build_services(settings: Settings) -> Services:
    engine = build_engine(settings.database_url)
    return Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        read_sessions=session_factory(engine, read_only=True),
        write_lock=asyncio.Lock() if engine.dialect.name == "sqlite" else None,
        hasher=PasswordHasher(
            time_cost=settings.password_time_cost,
            memory_kib=settings.password_memory_kib,
            parallelism=settings.password_parallelism,
        ),
        limiter=(
            RedisRateLimiter(settings.redis_url, prefix=settings.redis_prefix)
            if settings.redis_url
            else MemoryRateLimiter()
        ),
    )


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Starlette:
    """The app. ``services`` lets tests hand in their own (a spy hasher, a fixed clock)."""
    settings = settings or (services.settings if services else Settings.from_env())
    pages = Pages()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        built = services or build_services(settings)
        bus = build_bus(settings.redis_url, prefix=settings.redis_prefix)
        presence: PresenceStore = (
            RedisPresence(settings.redis_url, prefix=settings.redis_prefix)
            if settings.redis_url
            else MemoryPresence()
        )
        hub = Hub(services=built, bus=bus, presence=presence, metrics=LiveMetrics())
        publisher = bus_publisher(bus)
        built.publishers.append(publisher)
        await hub.start()
        # Without Redis there is no arq worker: this process runs the digests itself
        # (unless DIGEST_EVERY_SECONDS=0 turns the cron off).
        scheduler = None
        if not settings.redis_url and settings.digest_every_seconds > 0:
            scheduler = InProcessScheduler(built, build_mailer(settings))
            scheduler.start()
        try:
            yield {"services": built, "hub": hub, "pages": pages}
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await hub.stop()
            built.publishers.remove(publisher)
            if services is None:
                await built.close()

    return Starlette(
        routes=[
            *health.routes,
            *accounts.routes,
            *rooms.routes,
            *threads.routes,
            *streams.routes,
            *initiatives.routes,
            *feeds.routes,
            *subscriptions.routes,
            *moderation.routes,
            *notifications.routes,
            *metrics.routes,
            *endpoint.routes,
            *page_rooms.routes,
            *page_accounts.routes,
            *page_initiatives.routes,
            *page_moderation.routes,
            *page_notifications.routes,
            Mount("/static", app=pages.static_app(), name="static"),
        ],
        middleware=[
            Middleware(AccessLogMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(AllowedHostsMiddleware, settings=settings),
            Middleware(
                SameOriginMiddleware,
                settings=settings,
                cookie_name=SESSION_COOKIE,
                token_paths=("/unsubscribe",),
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
