"""The dashboard's layout of the collector's figures (demo_site/dashboard.py) and its template,
as units: bars where the minutes are, shares, hostile names as text."""

from __future__ import annotations

from typing import Any

from demo_site.dashboard import CHART_HEIGHT, WINDOWS, chart, delivery_view, share_text, window_view
from demo_site.server import TEMPLATES

from .markup import parse

NOW = 1_790_000_000_000  # 14:13:20 UTC, 21 September 2026
MINUTE = 60_000
HOUR, DAY = WINDOWS


def figures(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "since": NOW - 3600_000,
        "now": NOW,
        "events": 4,
        "sessions": 2,
        "devices": 2,
        "members": 1,
        "events_with_member": 1,
        "per_minute": [
            {"minute": NOW - NOW % MINUTE - 2 * MINUTE, "events": 1},
            {"minute": NOW - NOW % MINUTE, "events": 3},
        ],
        "top_events": [
            {"event_name": "page_view", "events": 3},
            {"event_name": "buy", "events": 1},
        ],
        "top_pages": [{"page": "http://x/a", "page_views": 3}],
        "delivery": {
            "counting_since": NOW - 5 * MINUTE,
            "refused": {"invalid": 2, "wrong_session": 1},
            "duplicates": 4,
            "busy_503": 1,
        },
    }
    values.update(overrides)
    return values


def test_the_hour_has_a_bar_per_minute_with_events_the_last_one_now() -> None:
    drawn = chart(figures()["per_minute"], NOW, HOUR)
    assert [bar.label for bar in drawn.bars] == ["14:11 UTC: 1 event", "14:13 UTC: 3 events"]
    last, before = drawn.bars[1], drawn.bars[0]
    assert last.x > before.x and last.x + last.width <= 600
    assert last.x >= 590  # the last of 60 bars
    assert (last.height, last.y) == (CHART_HEIGHT, 0)  # the peak is the full height
    assert before.height == CHART_HEIGHT / 3
    assert drawn.peak == "3/min" and (drawn.start, drawn.end) == ("13:14 UTC", "14:14 UTC")


def test_the_day_averages_15_minutes_per_bar() -> None:
    drawn = chart(figures()["per_minute"], NOW, DAY)
    assert [bar.label for bar in drawn.bars] == ["14:00 UTC: 4 events in 15 minutes"]
    assert drawn.peak == "0.267/min"
    assert (drawn.start, drawn.end) == ("14:15 UTC, 20 Sep", "14:15 UTC, 21 Sep")


def test_minutes_before_the_window_are_left_out() -> None:
    old = [{"minute": NOW - 2 * 3600_000, "events": 9}]
    assert chart(old, NOW, HOUR).bars == []


def test_the_windows_figures_and_shares() -> None:
    view = window_view(HOUR, figures())
    assert (view.events, view.sessions, view.devices, view.members) == (4, 2, 2, 1)
    assert view.member_share == "25 %"
    assert [(r.name, r.count, r.share) for r in view.top_events] == [
        ("page_view", 3, 100.0),
        ("buy", 1, 33.3),
    ]
    assert share_text(0, 0) == "no events"


def test_delivery_health_in_words() -> None:
    view = delivery_view(figures())
    assert view.since == "14:08 UTC, 21 Sep"
    assert view.refused == [
        ("invalid", "a field missing or wrong", 2),
        ("wrong_session", "another session than its token's", 1),
    ]
    assert (view.refused_total, view.duplicates, view.busy_503) == (3, 4, 1)


def test_stored_names_show_as_text() -> None:
    attack = '"><img src=x onerror=alert(1)>'
    hostile = figures(
        top_events=[{"event_name": attack, "events": 1}],
        top_pages=[{"page": attack, "page_views": 1}],
    )
    html = TEMPLATES.get_template("_dashboard.html").render(
        problem=None,
        windows=[window_view(HOUR, hostile)],
        delivery=delivery_view(hostile),
    )
    elements, text = parse(html)
    assert "img" not in {tag for tag, _ in elements}
    assert text.count(attack) == 2
