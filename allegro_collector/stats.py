"""What the stored events add up to since a moment: the figures of `GET /v1/stats`.

Every figure is one aggregate query in the database (counts, `GROUP BY`), never a loop over
events in Python, so it costs the same whatever the number of events. The SQL is standard and
takes the driver's placeholder, so the SQLite and the PostgreSQL store run the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from allegro_collector.event_filter import EventFilter

MINUTE_MS = 60_000
TOP = 10
# What "a page" is for the top pages: its canonical address when the event has one, else the
# address as visited (`url` keeps the query, so a campaign visit would otherwise count as a page
# of its own; rows stored before canonical_url existed have none). An empty canonical_url, which
# only an API client could send, counts as none.
PAGE_KEY = "COALESCE(NULLIF(canonical_url, ''), url)"

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""Runs one SELECT with its parameters; the rows."""


def event_stats(run: Run, placeholder: str, since: int) -> dict[str, Any]:
    """The figures of the events received at or after `since` (epoch ms)."""
    where, params = EventFilter(since=since).where(placeholder)
    p = placeholder
    totals = run(
        "SELECT COUNT(*), COUNT(DISTINCT session_id), COUNT(DISTINCT device_id), "
        f"COUNT(customer_id), COUNT(DISTINCT customer_id) FROM events {where}",
        params,
    )[0]
    per_minute = run(
        f"SELECT received_at / {MINUTE_MS}, COUNT(*) FROM events {where} "
        f"GROUP BY received_at / {MINUTE_MS} ORDER BY 1",
        params,
    )
    names = run(
        f"SELECT event_name, COUNT(*) AS n FROM events {where} "
        f"GROUP BY event_name ORDER BY n DESC, event_name LIMIT {TOP}",
        params,
    )
    pages = run(
        f"SELECT {PAGE_KEY} AS page, COUNT(*) AS n FROM events {where} "
        f"AND event_name = {p} AND {PAGE_KEY} IS NOT NULL "
        f"GROUP BY {PAGE_KEY} ORDER BY n DESC, page LIMIT {TOP}",
        [*params, "page_view"],
    )
    events, sessions, devices, with_member, members = (int(value or 0) for value in totals)
    return {
        "since": since,
        "events": events,
        "sessions": sessions,
        "devices": devices,
        "members": members,
        "events_with_member": with_member,
        "per_minute": [
            {"minute": int(minute) * MINUTE_MS, "events": int(count)}
            for minute, count in per_minute
        ],
        "top_events": [{"event_name": name, "events": int(count)} for name, count in names],
        "top_pages": [{"page": page, "page_views": int(count)} for page, count in pages],
    }
