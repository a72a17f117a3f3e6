"""How deliveries have gone since this collector process started, for `GET /v1/stats`.

Read from the same counters `/metrics` exposes (`metrics.Metrics`, one source): events refused on
their own (by reason), events recognised as duplicates (their event_id was already stored, so the
retry was acknowledged without a new row) and batches answered 503 because the ingest queue was
full. They live in the process's memory: they restart at zero with it, and each process of
`--workers N` counts its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # metrics imports admin_api, which imports this module
    from allegro_collector.metrics import Metrics

# Why an event of an accepted batch was refused on its own (the `reason` label of
# allegro_events_refused): a field missing or wrong, or not the session or device of the batch's
# CSRF token.
REASONS = ("invalid", "wrong_session", "wrong_device")


@dataclass(frozen=True)
class DeliveryHealth:
    metrics: Metrics
    started_at: int  # epoch ms

    def _value(self, name: str, labels: dict[str, str] | None = None) -> int:
        value = self.metrics.registry.get_sample_value(name, labels)
        return int(value or 0)

    def snapshot(self) -> dict[str, Any]:
        refused = {
            reason: self._value("allegro_events_refused_total", {"reason": reason})
            for reason in REASONS
        }
        return {
            "counting_since": self.started_at,
            "scope": "this collector process, in memory since it started",
            "refused": {reason: count for reason, count in refused.items() if count},
            "duplicates": self._value("allegro_events_duplicate_total"),
            "busy_503": self._value("allegro_batches_shed_total"),
        }
