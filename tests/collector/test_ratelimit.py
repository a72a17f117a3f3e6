"""Token buckets: a full bucket's worth at once, then one per 60/rate seconds; memory bounded."""

from __future__ import annotations

import pytest

from allegro_collector.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_rate_then_one_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock)  # 6 a minute: one per 10 s
    for _ in range(6):
        assert limiter.wait_seconds("a") == 0
        limiter.take("a")
    assert limiter.wait_seconds("a") == 10
    assert limiter.wait_seconds("b") == 0  # keys are counted apart
    clock.now += 4
    assert limiter.wait_seconds("a") == 6
    clock.now += 6
    assert limiter.wait_seconds("a") == 0
    limiter.take("a")
    assert limiter.wait_seconds("a") == 10


def test_full_buckets_are_dropped_when_the_table_is_full() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock, max_keys=100)
    for n in range(100):
        limiter.take(f"old-{n}")
    clock.now += 60  # every old bucket has refilled: the same as no bucket
    limiter.take("new")
    assert len(limiter) == 1


def test_a_table_of_active_keys_forgets_the_oldest_half() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock, max_keys=10)
    for n in range(10):
        clock.now += 0.01
        limiter.take(f"k{n}")
    limiter.take("k10")
    assert len(limiter) == 6
    assert limiter.wait_seconds("k9") == 0


def test_a_rate_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0, Clock())
