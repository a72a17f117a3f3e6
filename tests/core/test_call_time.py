from __future__ import annotations

from allegro_sdk.core.call_time import CallTime


def test_now_is_the_clock_unless_a_call_time_is_pinned() -> None:
    ticks = iter([100, 200])
    time = CallTime(lambda: next(ticks))
    assert time.now() == 100
    time.pin(42)
    assert (time.now(), time.now()) == (42, 42)
    time.pin(None)
    assert time.now() == 200
