"""Which stored events a read means: the admin API's filters as one SQL `WHERE` clause.

Standard SQL with the driver's placeholder (`?` for sqlite3, `%s` for psycopg), so every store
runs the same text; values are always parameters, never spliced into the SQL.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class EventFilter:
    """Events matching every field that is set (None or empty: no condition)."""

    session_id: str | None = None
    device_id: str | None = None
    event_name: str | None = None
    customer_id: str | None = None
    # Events whose `context` is one of these are left out (a page watching the events, such as
    # the demo's live view, would otherwise list its own page views).
    exclude_contexts: tuple[str, ...] = ()
    since: int | None = None  # received_at at or after this (epoch ms)

    def with_ids(self, session_id: str | None, device_id: str | None) -> EventFilter:
        """This filter with the session and device set where given."""
        return dataclasses.replace(
            self,
            session_id=session_id if session_id is not None else self.session_id,
            device_id=device_id if device_id is not None else self.device_id,
        )

    def where(self, placeholder: str) -> tuple[str, list[str | int]]:
        """`WHERE ...` (or "" when nothing is filtered) and its parameters, in order."""
        conditions: list[str] = []
        params: list[str | int] = []
        for column in ("session_id", "device_id", "event_name", "customer_id"):
            value = getattr(self, column)
            if value:
                conditions.append(f"{column} = {placeholder}")
                params.append(value)
        if self.exclude_contexts:
            marks = ", ".join(placeholder for _ in self.exclude_contexts)
            conditions.append(f"(context IS NULL OR context NOT IN ({marks}))")
            params.extend(self.exclude_contexts)
        if self.since is not None:
            conditions.append(f"received_at >= {placeholder}")
            params.append(self.since)
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), params
