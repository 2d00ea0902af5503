"""Who is in a room, across processes: members ``<process>:<user>`` that expire unless renewed.

A process renews its members every sweep; a process that dies stops renewing, and its users
drop out of presence when their entries expire (PRESENCE_TTL_SECONDS).
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis


class PresenceStore(Protocol):
    async def put(self, stream: str, members: list[str], ttl: float) -> None: ...

    async def remove(self, stream: str, member: str) -> None: ...

    async def members(self, stream: str) -> set[str]: ...

    async def close(self) -> None: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, float]] = {}

    async def put(self, stream: str, members: list[str], ttl: float) -> None:
        expiry = time.time() + ttl
        self._entries.setdefault(stream, {}).update(dict.fromkeys(members, expiry))

    async def remove(self, stream: str, member: str) -> None:
        self._entries.get(stream, {}).pop(member, None)

    async def members(self, stream: str) -> set[str]:
        now = time.time()
        entries = self._entries.get(stream, {})
        for member in [m for m, expiry in entries.items() if expiry <= now]:
            del entries[member]
        return set(entries)

    async def close(self) -> None:
        self._entries.clear()


class RedisPresence:
    """A sorted set per stream, scored by expiry time; Redis's own clock decides what expired."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self._redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._prefix = f"{prefix}presence:"

    async def put(self, stream: str, members: list[str], ttl: float) -> None:
        if not members:
            return
        key = self._prefix + stream
        expiry = time.time() + ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, dict.fromkeys(members, expiry))
            pipe.expire(key, int(ttl * 2) + 1)
            await pipe.execute()

    async def remove(self, stream: str, member: str) -> None:
        await self._redis.zrem(self._prefix + stream, member)

    async def members(self, stream: str) -> set[str]:
        key = self._prefix + stream
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrangebyscore(key, now, "+inf")
            _, found = await pipe.execute()
        return {m.decode() if isinstance(m, bytes) else str(m) for m in found}

    async def close(self) -> None:
        await self._redis.aclose()
