"""Counting attempts in a sliding window, per key (an account, an address, a user)."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("gnrp.limits")


class RateLimiter(Protocol):
    """Sliding-window counters per key (an account, an address, a user and an action).

    ``retry_after(key, limit=, window=)`` answers how many seconds until one more attempt is
    allowed (0: allowed now) without recording anything; ``hit`` records one attempt; ``reset``
    forgets the key. With Redis the counts are shared by every server process.
    """

    async def retry_after(self, key: str, *, limit: int, window: float) -> int: ...

    async def hit(self, key: str, *, window: float) -> None: ...

    async def reset(self, key: str) -> None: ...

    async def take(self, key: str, *, limit: int, window: float) -> int:
        """Check and record in one step (0: taken), so concurrent callers never overshoot."""
        ...


class MemoryRateLimiter:
    """One process's counters (the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _window(self, key: str, window: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        horizon = self._clock() - window
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits

    async def retry_after(self, key: str, *, limit: int, window: float) -> int:
        hits = self._window(key, window)
        if len(hits) < limit:
            if not hits:
                self._hits.pop(key, None)
            return 0
        return max(1, math.ceil(hits[len(hits) - limit] + window - self._clock()))

    async def hit(self, key: str, *, window: float) -> None:
        self._window(key, window).append(self._clock())

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    async def take(self, key: str, *, limit: int, window: float) -> int:
        wait = await self.retry_after(key, limit=limit, window=window)
        if not wait:  # nothing awaits between the check and the hit: one step in this process
            await self.hit(key, window=window)
        return wait


class RedisRateLimiter:
    """Counters in Redis sorted sets (member: a unique attempt, score: its time), so that limits
    hold across server processes. Uses Redis's clock (TIME) so processes agree.

    While Redis is unreachable it counts in this process instead: writes go on during a Redis
    restart, limited per process rather than not at all.
    """

    def __init__(self, url: str, *, prefix: str) -> None:
        self._redis = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self._prefix = f"{prefix}limit:"
        self._local = MemoryRateLimiter()

    async def retry_after(self, key: str, *, limit: int, window: float) -> int:
        try:
            return await self._shared_retry_after(key, limit=limit, window=window)
        except (RedisError, OSError) as error:
            log.warning("rate limits counted locally", extra={"error": repr(error)})
            return await self._local.retry_after(key, limit=limit, window=window)

    async def hit(self, key: str, *, window: float) -> None:
        await self._local.hit(key, window=window)
        try:
            await self._shared_hit(key, window=window)
        except (RedisError, OSError) as error:
            log.warning("rate limits counted locally", extra={"error": repr(error)})

    async def reset(self, key: str) -> None:
        await self._local.reset(key)
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as error:
            log.warning("rate limits counted locally", extra={"error": repr(error)})

    async def _now(self) -> float:
        seconds, micros = await self._redis.time()
        return float(seconds) + float(micros) / 1e6

    async def take(self, key: str, *, limit: int, window: float) -> int:
        try:
            return await self._shared_take(key, limit=limit, window=window)
        except (RedisError, OSError) as error:
            log.warning("rate limits counted locally", extra={"error": repr(error)})
            return await self._local.take(key, limit=limit, window=window)

    async def _shared_take(self, key: str, *, limit: int, window: float) -> int:
        # Add first, count, and take the attempt back if it went over: in one MULTI, so that two
        # processes cannot both see room for the last slot.
        name, now, attempt = self._prefix + key, await self._now(), uuid.uuid4().hex
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zadd(name, {attempt: now})
            pipe.expire(name, math.ceil(window) + 1)
            pipe.zrange(name, 0, -1, withscores=True)
            *_, hits = await pipe.execute()
        if len(hits) <= limit:
            return 0
        await self._redis.zrem(name, attempt)
        oldest_counted = float(hits[len(hits) - 1 - limit][1])
        return max(1, math.ceil(oldest_counted + window - now))

    async def _shared_retry_after(self, key: str, *, limit: int, window: float) -> int:
        name, now = self._prefix + key, await self._now()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zrange(name, 0, -1, withscores=True)
            _, hits = await pipe.execute()
        if len(hits) < limit:
            return 0
        oldest_counted = float(hits[len(hits) - limit][1])
        return max(1, math.ceil(oldest_counted + window - now))

    async def _shared_hit(self, key: str, *, window: float) -> None:
        name, now = self._prefix + key, await self._now()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {uuid.uuid4().hex: now})
            pipe.expire(name, math.ceil(window) + 1)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()
