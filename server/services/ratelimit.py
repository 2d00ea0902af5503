"""Counting attempts in a sliding window, per key (an account, an address, a user)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """In-process sliding-window counters.

    ``retry_after(key, limit, window)`` answers how long until one more attempt is allowed (0 when
    it is allowed now) without recording anything; ``hit`` records one attempt.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _window(self, key: str, window: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        horizon = self._clock() - window
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits

    def retry_after(self, key: str, *, limit: int, window: float) -> int:
        hits = self._window(key, window)
        if len(hits) < limit:
            return 0
        return max(1, math.ceil(hits[len(hits) - limit] + window - self._clock()))

    def hit(self, key: str, *, window: float) -> None:
        self._window(key, window).append(self._clock())

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``take`` says whether one was left."""

    __slots__ = ("_burst", "_clock", "_rate", "_tokens", "_updated")

    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._updated = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
