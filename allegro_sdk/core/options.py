"""Tuning options from the SDK's script tag: the promise timeout and the outbox's bounds.

Each is a data-* attribute holding a whole number above 0; a bad value is reported and the
default is used, so a typo never stops tracking (docs/delivery.md, "Bounds and defaults"). The
promise timeout is off unless the site sets it (core/promises.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .outbox import MAX_AGE_MS, MAX_BYTES, MAX_EVENTS

if TYPE_CHECKING:
    from .ports import Console

DAY_MS = 24 * 3600 * 1000
# attribute: (default in the unit of the attribute, 0 for off; how many of the SDK's units one is)
OPTIONS = {
    "data-timeout-seconds": (0, 1000),
    "data-outbox-max-events": (MAX_EVENTS, 1),
    "data-outbox-max-kb": (MAX_BYTES // 1024, 1024),
    "data-outbox-max-days": (MAX_AGE_MS // DAY_MS, DAY_MS),
}


def read_options(settings: dict[str, str], console: Console) -> dict[str, int]:
    """Every option in the SDK's units (ms, events, bytes, ms), keyed by its attribute."""
    options = {}
    for name, (default, unit) in OPTIONS.items():
        raw = settings.get(name)
        value = default
        if raw is not None:
            text = raw.strip()
            # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
            if text and all("0" <= c <= "9" for c in text) and 0 < int(text) <= 1_000_000:
                value = int(text)
            else:
                console.error(
                    f'{name}="{raw}" must be a whole number from 1 to 1000000; '
                    + (f"using {default}" if default else "it is ignored")
                )
        options[name] = value * unit
    return options
