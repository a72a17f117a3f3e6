"""No client address in the collector's logs, even with `--access-log`.

uvicorn's access log line is `<client address>:<port> - "<method> <path and query> HTTP/<v>"
<status>`. `AccessLogPrivacy` rewrites each record before any handler formats it: the address
becomes `-`, the query string is dropped (admin reads carry device, session and member ids there)
and the device id of `/v1/devices/{device_id}` becomes `{device_id}`. The collector's own log
lines name no client address either; the session rate limits hold addresses in memory only
(`ratelimit.py`).
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
_DEVICES = "/v1/devices/"


def private_path(path: str) -> str:
    """The path without its query string, and without the device id of a device's endpoint."""
    path = path.partition("?")[0]
    if path.startswith(_DEVICES):
        _, slash, rest = path[len(_DEVICES) :].partition("/")
        path = f"{_DEVICES}{{device_id}}{slash}{rest}"
    return path


class AccessLogPrivacy(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, http_version, status = args
            record.args = ("-", method, private_path(str(path)), http_version, status)
        return True


def install() -> None:
    """Filter uvicorn's access logger (once per process; filters survive uvicorn's dictConfig)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogPrivacy) for f in access.filters):
        access.addFilter(AccessLogPrivacy())
