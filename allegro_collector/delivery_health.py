"""How deliveries have gone since this collector process started: counters kept in memory.

Events refused on their own (by reason), events recognised as duplicates (their event_id was
already stored, so the retry was acknowledged without a new row) and batches answered 503 because
the ingest queue was full. They restart at zero with the process and count this process only;
`GET /v1/stats` reports them with the moment they started counting.

Updated on the event loop only (the ingest endpoint), so plain integers are enough.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Why an event of an accepted batch was refused on its own.
INVALID = "invalid"  # a field is missing or wrong
WRONG_SESSION = "wrong_session"  # not the session of the batch's CSRF token
WRONG_DEVICE = "wrong_device"  # not the device of the batch's CSRF token


@dataclass
class DeliveryHealth:
    started_at: int  # epoch ms
    refused: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    busy_503: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "counting_since": self.started_at,
            "scope": "this collector process, in memory since it started",
            "refused": dict(sorted(self.refused.items())),
            "duplicates": self.duplicates,
            "busy_503": self.busy_503,
        }
