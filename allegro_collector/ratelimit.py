"""How fast new sessions may be made: a token bucket per key (a device id, a client address).

A bucket holds up to `per_minute` tokens and regains `per_minute` of them a minute; making a
session takes one. A bucket that has refilled completely is the same as no bucket, so such
buckets are dropped whenever the table grows past `max_keys`: memory stays bounded by the keys
active in the last minute, however many ids a client invents. Kept in memory per process: a
collector restarted, or several behind one balancer, each count on their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Not thread-safe: used from the event loop only (no await between check and take)."""

    def __init__(self, per_minute: int, now: Monotonic, max_keys: int = 100_000) -> None:
        if per_minute < 1:
            raise ValueError("a rate must allow at least 1 a minute")
        self.per_minute = per_minute
        self._now = now
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    @property
    def _per_second(self) -> float:
        return self.per_minute / 60

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self.per_minute, bucket.tokens + (now - bucket.updated) * self._per_second)

    def wait_seconds(self, key: str) -> int:
        """0 when `key` may go now; else the whole seconds until it may (at least 1)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0
        tokens = self._refilled(bucket, self._now())
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self._per_second))

    def take(self, key: str) -> None:
        """Count one use of `key` (call after `wait_seconds(key)` said 0)."""
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._drop_full(now)
            self._buckets[key] = _Bucket(self.per_minute - 1, now)
            return
        bucket.tokens = max(0.0, self._refilled(bucket, now) - 1)
        bucket.updated = now

    def _drop_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if self._refilled(b, now) >= self.per_minute]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            # Every key was active within the last minute: forget the oldest half. That can only
            # let a key make more sessions than its rate, never fewer.
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in oldest[: len(oldest) // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
