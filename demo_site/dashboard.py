"""The dashboard: the collector's figures (`GET /v1/stats`) for the last hour and the last day,
turned into plain values and chart geometry that `_dashboard.html` draws as inline SVG.

The collector counts in its store (aggregate SQL); this module only lays the answer out: which
bar goes where, how tall, what its label says. No event is loaded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
CHART_WIDTH = 600
CHART_HEIGHT = 120
# Why the collector refused an event on its own, in words.
REFUSAL_REASONS = {
    "invalid": "a field missing or wrong",
    "wrong_session": "another session than its token's",
    "wrong_device": "another device than its token's",
}


@dataclass(frozen=True)
class Window:
    """A span the dashboard shows: its key, title, length and the minutes per chart bar."""

    key: str
    title: str
    span_ms: int
    bucket_minutes: int


WINDOWS = (
    Window("hour", "Last hour", HOUR_MS, 1),
    Window("day", "Last 24 hours", DAY_MS, 15),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "14:05 UTC: 3 events"


@dataclass(frozen=True)
class Chart:
    """Events per minute as bars in a CHART_WIDTH x CHART_HEIGHT box (SVG user units)."""

    bars: list[Bar]
    peak: str  # the tallest bar's events per minute, for the axis
    start: str  # the first bar's time
    end: str  # the chart's end
    description: str  # what the chart shows, for screen readers


@dataclass(frozen=True)
class Ranked:
    """One row of a top list: the name, its count and its length as a share of the first's."""

    name: str
    count: int
    share: float  # 0-100


@dataclass(frozen=True)
class WindowView:
    key: str
    title: str
    events: int
    sessions: int
    devices: int
    members: int
    with_member: int
    member_share: str  # "25 %", or "no events"
    chart: Chart
    top_events: list[Ranked]
    top_pages: list[Ranked]


@dataclass(frozen=True)
class DeliveryView:
    """The collector's in-memory counters since it started."""

    since: str  # "14:02 UTC, 30 Nov"
    refused: list[tuple[str, str, int]]  # (reason, in words, count)
    refused_total: int
    duplicates: int
    busy_503: int


def _clock(ms: int, *, day: bool = False) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{moment:%H:%M} UTC" + (f", {moment.day} {moment:%b}" if day else "")


def _int(figures: Mapping[str, Any], key: str) -> int:
    value = figures.get(key)
    return value if isinstance(value, int) else 0


def share_text(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage ("no events" when there is nothing to divide)."""
    return f"{round(100 * part / whole)} %" if whole else "no events"


def chart(per_minute: list[Mapping[str, Any]], now: int, window: Window) -> Chart:
    """Bars of `window.bucket_minutes` minutes each up to `now`, their height the average events
    per minute in that bucket."""
    bucket_ms = window.bucket_minutes * MINUTE_MS
    count = window.span_ms // bucket_ms
    end = (now // bucket_ms + 1) * bucket_ms
    start = end - count * bucket_ms
    totals = [0] * count
    for row in per_minute:
        minute, events = row.get("minute"), row.get("events")
        if isinstance(minute, int) and isinstance(events, int) and minute >= start:
            totals[min(count - 1, (minute - start) // bucket_ms)] += events
    rates = [total / window.bucket_minutes for total in totals]
    peak = max(rates, default=0) or 1
    width = CHART_WIDTH / count
    bars = []
    for index, rate in enumerate(rates):
        if not totals[index]:
            continue
        height = max(1.0, CHART_HEIGHT * rate / peak)
        when = _clock(start + index * bucket_ms)
        events = totals[index]
        label = f"{when}: {events} event{'s' if events != 1 else ''}"
        if window.bucket_minutes > 1:
            label += f" in {window.bucket_minutes} minutes"
        bars.append(
            Bar(
                x=round(index * width + width * 0.1, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(width * 0.8, 2),
                height=round(height, 2),
                label=label,
            )
        )
    peak_rate = max(rates, default=0)
    day = window.span_ms > HOUR_MS
    every = "minute" if window.bucket_minutes == 1 else f"{window.bucket_minutes} minutes"
    return Chart(
        bars=bars,
        peak=f"{peak_rate:.3g}/min",
        start=_clock(start, day=day),
        end=_clock(end, day=day),
        description=f"Events per minute, one bar per {every}, from {_clock(start, day=day)} to "
        f"{_clock(end, day=day)}; the highest is {peak_rate:.3g} per minute.",
    )


def _ranked(rows: Any, name_key: str, count_key: str) -> list[Ranked]:
    found: list[tuple[str, int]] = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get(count_key), int):
            found.append((str(row.get(name_key)), row[count_key]))
    first = max((count for _, count in found), default=0) or 1
    return [Ranked(name, count, round(100 * count / first, 1)) for name, count in found]


def window_view(window: Window, figures: Mapping[str, Any]) -> WindowView:
    events, with_member = _int(figures, "events"), _int(figures, "events_with_member")
    per_minute = figures.get("per_minute")
    return WindowView(
        key=window.key,
        title=window.title,
        events=events,
        sessions=_int(figures, "sessions"),
        devices=_int(figures, "devices"),
        members=_int(figures, "members"),
        with_member=with_member,
        member_share=share_text(with_member, events),
        chart=chart(
            per_minute if isinstance(per_minute, list) else [], _int(figures, "now"), window
        ),
        top_events=_ranked(figures.get("top_events"), "event_name", "events"),
        top_pages=_ranked(figures.get("top_pages"), "page", "page_views"),
    )


def delivery_view(figures: Mapping[str, Any]) -> DeliveryView:
    delivery = figures.get("delivery")
    counters = delivery if isinstance(delivery, dict) else {}
    refused_counts = counters.get("refused")
    refused = [
        (str(reason), REFUSAL_REASONS.get(str(reason), str(reason)), count)
        for reason, count in (refused_counts.items() if isinstance(refused_counts, dict) else [])
        if isinstance(count, int)
    ]
    return DeliveryView(
        since=_clock(_int(counters, "counting_since"), day=True),
        refused=refused,
        refused_total=sum(count for _, _, count in refused),
        duplicates=_int(counters, "duplicates"),
        busy_503=_int(counters, "busy_503"),
    )
