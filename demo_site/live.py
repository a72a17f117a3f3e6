"""The live view: the collector's stored events, read server-side and rendered as HTML
(by the templates `_events.html` and `_event.html`, which escape every value).

The demo site asks the collector's admin API (`GET /v1/events`, newest first, filtered by the
store) with the admin key,
so the key never reaches the browser; the page polls `/live/events` for a fresh fragment.
The request is made with the standard library's urllib in a worker thread: one small GET every
couple of seconds needs no connection pool, and the demo site needs no HTTP client library.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from allegro_collector.campaign import CAMPAIGN_PARAMS
from allegro_sdk.core.event import STRING_FIELDS
from allegro_sdk.core.protocol import EVENTS_PATH

# The spec's string fields (with canonical_url), as the SDK fills them and the collector stores
# them, then the campaign parameters the collector reads from `url`.
METADATA_FIELDS = (*STRING_FIELDS, *CAMPAIGN_PARAMS)
LIVE_LIMIT = 50
MAX_FILTER_CHARS = 256
STATS_PATH = "/v1/stats"
TIMEOUT_SECONDS = 5.0


class CollectorUnavailable(Exception):
    """The collector could not be asked, or did not answer as expected; the message says why."""


# The `allegro:context` of the demo's own pages that watch the events (the live view, the
# dashboard): their page views are hidden from the live view unless asked for.
WATCHING_CONTEXTS = ("live view", "dashboard")
# The filters of the live view: query parameter of /live -> the admin API's filter.
FILTER_FIELDS = {
    "event_name": "event_name",
    "device_id": "device_id",
    "session_id": "session_id",
    "member": "customer_id",
}


@dataclass(frozen=True)
class LiveFilter:
    """What the live view shows, from its query parameters (one form, also the feed's query)."""

    event_name: str = ""
    device_id: str = ""
    session_id: str = ""
    member: str = ""  # a customer id
    only_mine: bool = False  # only the visitor's own device
    watching: bool = False  # also the page views of the live view and the dashboard

    @classmethod
    def of(cls, params: Mapping[str, str]) -> LiveFilter:
        return cls(
            **{name: params.get(name, "").strip()[:MAX_FILTER_CHARS] for name in FILTER_FIELDS},
            only_mine=params.get("mine") == "1",
            watching=params.get("watching") == "1",
        )

    def query(self) -> str:
        """The query string that asks for this filter ("" for the default view)."""
        values = {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name)}
        if self.only_mine:
            values["mine"] = "1"
        if self.watching:
            values["watching"] = "1"
        return urllib.parse.urlencode(values)

    def admin_query(self, visitor_device: str | None) -> list[tuple[str, str]]:
        """The admin API's filter parameters for this filter, for a visitor with this device."""
        found = [(FILTER_FIELDS[name], getattr(self, name)) for name in FILTER_FIELDS]
        if self.only_mine and visitor_device:
            found.append(("device_id", visitor_device))
        if not self.watching:
            found.extend(("exclude_context", context) for context in WATCHING_CONTEXTS)
        return [(name, value) for name, value in found if value]

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in FILTER_FIELDS) or self.only_mine


@dataclass(frozen=True)
class EventSource:
    """Where the stored events and their figures come from: the collector's admin API."""

    collector: str
    admin_key: str | None

    def latest(
        self, filters: Sequence[tuple[str, str]] = (), limit: int = LIVE_LIMIT
    ) -> list[dict[str, Any]]:
        """The newest stored events matching the admin API's `filters` (blocking: run it in a
        thread)."""
        body = self._get(EVENTS_PATH, [("limit", str(limit)), *filters], "events")
        events = body.get("events")
        if not isinstance(events, list):
            raise CollectorUnavailable("the collector's answer has no list of events")
        return [event for event in events if isinstance(event, dict)]

    def stats(self, since: int) -> dict[str, Any]:
        """The collector's figures of the events received since `since` (epoch ms; blocking)."""
        return self._get(STATS_PATH, [("since", str(since))], "stats")

    def _get(self, path: str, query: Sequence[tuple[str, str]], what: str) -> dict[str, Any]:
        if not self.admin_key:
            raise CollectorUnavailable(
                "the demo site has no admin key, so it cannot read the collector's events "
                "(start it with ALLEGRO_ADMIN_KEY set)"
            )
        request = urllib.request.Request(
            f"{self.collector}{path}?{urllib.parse.urlencode(query)}",
            headers={"Authorization": f"Bearer {self.admin_key}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the answer's connection
            raise CollectorUnavailable(
                f"the collector answered {exc.code} to the {what} request"
            ) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectorUnavailable(
                f"the collector at {self.collector} did not answer ({reason})"
            ) from None
        if not isinstance(body, dict):
            raise CollectorUnavailable(f"the collector's {what} answer is not a JSON object")
        return body


@dataclass(frozen=True)
class EventView:
    """One stored event as the live view shows it: plain values, rendered (and HTML-escaped) by
    the templates `_events.html` and `_event.html`. Every text here may come from any browser."""

    event_id: str
    name: str
    mine: bool  # sent by the visitor's own device
    time_iso: str | None  # when the collector received it, for <time datetime>
    time_text: str  # the same, as HH:MM:SS UTC
    device_id: str
    device_short: str  # the device id's first characters, for the one-line row
    session_id: str
    customer: str | None  # the verified member's customer id, if any
    # For the sentence on what the visitor did (see _event.html):
    title: str  # the page's title, else its address
    content_type: str | None
    click_target: str
    product: str
    price: str  # "89.0 EUR", or "" when the purchase has none
    metadata: list[tuple[str, str]]  # the non-empty METADATA_FIELDS, in that order
    data_json: str | None  # the custom data, indented JSON; None when there is none

    @classmethod
    def of(cls, event: Mapping[str, Any], visitor_device: str | None) -> EventView:
        received = event.get("received_at")
        moment = (
            datetime.fromtimestamp(received / 1000, tz=UTC) if isinstance(received, int) else None
        )
        raw_data = event.get("data")
        data = raw_data if isinstance(raw_data, dict) else {}
        customer = event.get("customer_id")
        kind = event.get("content_type")
        return cls(
            event_id=str(event.get("event_id", "")),
            name=str(event.get("event_name")),
            mine=bool(visitor_device) and event.get("device_id") == visitor_device,
            time_iso=moment.isoformat(timespec="milliseconds") if moment else None,
            time_text=f"{moment:%H:%M:%S} UTC" if moment else "",
            device_id=str(event.get("device_id", "")),
            device_short=str(event.get("device_id", ""))[:8],
            session_id=str(event.get("session_id", "")),
            customer=str(customer) if customer else None,
            title=str(event.get("page_title") or event.get("url") or "a page"),
            content_type=str(kind) if kind else None,
            click_target=str(event.get("url_in_click") or "a link"),
            product=str(data.get("product_id", "a product")),
            price=" ".join(str(data[key]) for key in ("price", "currency") if key in data),
            metadata=[
                (field, str(event[field]))
                for field in METADATA_FIELDS
                if event.get(field) not in (None, "")
            ],
            data_json=json.dumps(raw_data, indent=2, ensure_ascii=False) if raw_data else None,
        )


def event_views(events: Sequence[Mapping[str, Any]], visitor_device: str | None) -> list[EventView]:
    return [EventView.of(event, visitor_device) for event in events]
