"""The live view: the collector's stored events, read server-side and rendered as HTML.

The demo site asks the collector's admin API (`GET /v1/events`, newest first) with the admin key,
so the key never reaches the browser; the page polls `/live/events` for a fresh fragment.
The request is made with the standard library's urllib in a worker thread: one small GET every
couple of seconds needs no connection pool, and the demo site gains no runtime dependency.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

METADATA_FIELDS = (
    "url",
    "referer",
    "page_title",
    "content_type",
    "content_id",
    "publisher",
    "object_type",
    "object_id",
    "context",
    "conversion_pv_id",
    "url_in_click",
)
LIVE_LIMIT = 50
TIMEOUT_SECONDS = 5.0


class CollectorUnavailable(Exception):
    """The collector could not be asked, or did not answer as expected; the message says why."""


@dataclass(frozen=True)
class EventSource:
    """Where the stored events come from: the collector's admin API."""

    collector: str
    admin_key: str | None

    def latest(self, device_id: str | None = None, limit: int = LIVE_LIMIT) -> list[dict[str, Any]]:
        """The newest stored events (blocking: run it in a thread)."""
        if not self.admin_key:
            raise CollectorUnavailable(
                "the demo site has no admin key, so it cannot read the collector's events "
                "(start it with --admin-key or ALLEGRO_ADMIN_KEY)"
            )
        query = {"limit": str(limit)}
        if device_id:
            query["device_id"] = device_id
        request = urllib.request.Request(
            f"{self.collector}/v1/events?{urllib.parse.urlencode(query)}",
            headers={"Authorization": f"Bearer {self.admin_key}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the answer's connection
            raise CollectorUnavailable(
                f"the collector answered {exc.code} to the events request"
            ) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectorUnavailable(
                f"the collector at {self.collector} did not answer ({reason})"
            ) from None
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise CollectorUnavailable("the collector's answer has no list of events")
        return [event for event in events if isinstance(event, dict)]


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _time(received_at: object) -> str:
    if not isinstance(received_at, int):
        return ""
    moment = datetime.fromtimestamp(received_at / 1000, tz=UTC)
    return (
        f'<time datetime="{moment.isoformat(timespec="milliseconds")}">{moment:%H:%M:%S} UTC</time>'
    )


def explain(event: Mapping[str, Any], mine: bool) -> str:
    """One sentence, in plain words, on what the visitor did to cause this event (as HTML)."""
    who = "You" if mine else "A visitor"
    name = event.get("event_name")
    title = event.get("page_title") or event.get("url") or "a page"
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    assert isinstance(data, dict)
    if name == "page_view":
        kind = event.get("content_type")
        what = f" ({_text(kind)})" if kind else ""
        sentence = f"{who} opened “{_text(title)}”{what}."
    elif name == "link_click":
        target = event.get("url_in_click") or "a link"
        sentence = f"{who} clicked a link to {_text(target)} on “{_text(title)}”."
    elif name == "purchase":
        price = " ".join(_text(data[key]) for key in ("price", "currency") if key in data)
        product = _text(data.get("product_id", "a product"))
        sentence = f"{who} pressed Buy: {product}" + (f" for {price}" if price else "") + "."
    elif name == "video_play":
        sentence = f"{who} pressed play on “{_text(title)}”."
    elif name == "login":
        sentence = f"{who} logged in; the collector verified the member token."
    else:
        sentence = f"{who} triggered <code>{_text(name)}</code> on “{_text(title)}”."
    customer = event.get("customer_id")
    if customer:
        sentence += f" Logged in as <strong>{_text(customer)}</strong>."
    return sentence


def _row(label: str, value: str, css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<dt>{label}</dt><dd{attribute}>{value}</dd>"


def render_event(event: Mapping[str, Any], visitor_device: str | None) -> str:
    mine = bool(visitor_device) and event.get("device_id") == visitor_device
    customer = event.get("customer_id")
    ids = [
        _row("event id", f"<code>{_text(event.get('event_id', ''))}</code>"),
        _row(
            "device",
            f"<code>{_text(event.get('device_id', ''))}</code>"
            + (' <span class="badge">your device</span>' if mine else ""),
        ),
        _row("session", f"<code>{_text(event.get('session_id', ''))}</code>"),
        _row(
            "customer",
            f"<code>{_text(customer)}</code>" if customer else "none (anonymous)",
            "customer" if customer else "customer anonymous",
        ),
    ]
    metadata = [
        _row(_text(field), _text(event[field]))
        for field in METADATA_FIELDS
        if event.get(field) not in (None, "")
    ]
    data = event.get("data")
    data_html = (
        f'<pre class="data">{_text(json.dumps(data, indent=2, ensure_ascii=False))}</pre>'
        if data
        else '<p class="empty">no custom data</p>'
    )
    css = "event mine" if mine else "event"
    return (
        f'<li class="{css}" data-event-id="{_text(event.get("event_id", ""))}">'
        f'<div class="event-head"><span class="event-name">{_text(event.get("event_name"))}'
        f"</span> {_time(event.get('received_at'))}</div>"
        f'<p class="explain">{explain(event, mine)}</p>'
        f'<dl class="ids">{"".join(ids)}</dl>'
        "<h3>metadata</h3>"
        + (
            f'<dl class="meta">{"".join(metadata)}</dl>'
            if metadata
            else '<p class="empty">none</p>'
        )
        + f"<h3>data</h3>{data_html}</li>"
    )


def render_events(events: Sequence[Mapping[str, Any]], visitor_device: str | None) -> str:
    if not events:
        return (
            '<li class="notice">No events stored yet. Open a page of this site (this one counts '
            "too) and its <code>page_view</code> appears here.</li>"
        )
    return "\n".join(render_event(event, visitor_device) for event in events)


def render_unavailable(problem: CollectorUnavailable) -> str:
    return f'<li class="notice unavailable">Cannot show events: {_text(problem)}.</li>'
