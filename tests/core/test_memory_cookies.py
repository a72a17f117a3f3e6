from __future__ import annotations

from allegro_sdk.core.memory_cookies import MemoryCookies


def test_values_last_in_memory_and_max_age_zero_deletes() -> None:
    jar = MemoryCookies()
    assert jar.get("allegro_device_id") is None
    jar.set("allegro_device_id", "d", 315360000)
    jar.set("allegro_session_id", "s", 1800)
    assert (jar.get("allegro_device_id"), jar.get("allegro_session_id")) == ("d", "s")
    jar.set("allegro_session_id", "", 0)
    assert jar.get("allegro_session_id") is None
