"""A client of a micro collector's HTTP endpoints, and `expect_event`.

Standard library only (`urllib.request`), so it works wherever the micro collector runs: started
by the `allegro_micro` fixture in this process, or by `allegro-collector micro` elsewhere.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.05
# What the failure message shows of each arrived event, besides its name.
_SHOWN_FIELDS = ("event_id", "customer_id", "url", "content_id", "content_type", "data")


def matches(expected: object, actual: object) -> bool:
    """Equal values match; an expected dict matches a dict that has at least its keys, each
    matching (so `data={"price": 9.99}` ignores the other keys of `data`)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


def describe_event(event: Mapping[str, Any]) -> str:
    shown = ", ".join(
        f"{key}={json.dumps(event[key], ensure_ascii=False)}"
        for key in _SHOWN_FIELDS
        if event.get(key) is not None
    )
    return f"{event.get('event_name')!r} ({shown})"


def describe_refusal(refusal: Mapping[str, Any]) -> str:
    event = refusal.get("event")
    name = event.get("event_name") if isinstance(event, Mapping) else None
    error = refusal["error"]
    where = f"{error['field']}: " if error.get("field") else ""
    return f"{name!r} refused with {refusal['status']}: {where}{error['message']}"


class MicroClient:
    """Reads and resets what a micro collector recorded; waits for an expected event."""

    def __init__(self, url: str, *, admin_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        # Known when the collector runs in this process: for tools that read GET /v1/events.
        self.admin_key = admin_key

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def good(self) -> list[dict[str, Any]]:
        """The events the collector stored since the start or the last reset, as stored."""
        events: list[dict[str, Any]] = self._call("GET", "/micro/good")["events"]
        return events

    def bad(self) -> list[dict[str, Any]]:
        """The events the collector refused, each with `status`, `error` and the `event` sent."""
        events: list[dict[str, Any]] = self._call("GET", "/micro/bad")["events"]
        return events

    def reset(self) -> None:
        self._call("POST", "/micro/reset")

    def expect_event(
        self, name: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, **fields: object
    ) -> dict[str, Any]:
        """The first stored event called `name` whose fields match `fields` (see `matches`),
        waiting up to `timeout` seconds for it; an AssertionError saying what did arrive, and
        what was refused and why, when none does."""
        deadline = time.monotonic() + timeout
        while True:
            good = self.good()
            for event in good:
                if event.get("event_name") == name and matches(fields, event):
                    return event
            if time.monotonic() >= deadline:
                raise AssertionError(self._nothing_matched(name, fields, timeout, good))
            time.sleep(POLL_SECONDS)

    def _nothing_matched(
        self, name: str, fields: Mapping[str, object], timeout: float, good: list[dict[str, Any]]
    ) -> str:
        wanted = ", ".join(f"{key}={value!r}" for key, value in fields.items())
        lines = [f"no {name!r} event{f' with {wanted}' if wanted else ''} within {timeout:g} s."]
        lines.append(f"Stored ({len(good)}):" if good else "Stored: none.")
        lines += [f"  {describe_event(event)}" for event in good]
        bad = self.bad()
        lines.append(f"Refused ({len(bad)}):" if bad else "Refused: none.")
        lines += [f"  {describe_refusal(refusal)}" for refusal in bad]
        return "\n".join(lines)
