"""The wire protocol between the SDK and the collector, written once (docs/protocol.md).

Paths, the CSRF header, the cookies a site's pages and backend share, the limits both sides
enforce, and the request bodies. The SDK runs it in the browser (so it imports only the core's
own JSON encoder); the collector, the demo site and the benchmarks import it under CPython.
"""

from __future__ import annotations

from .json_encoding import encode, encode_string

# The release of the SDK and the collector (pyproject.toml reads it from here); `allegro.version`.
VERSION = "0.1.0"

SESSIONS_PATH = "/v1/sessions"
EVENTS_PATH = "/v1/events"
MEMBER_LOGIN_PATH = "/v1/members/login"
MEMBER_LOGOUT_PATH = "/v1/members/logout"
# The session's CSRF token, on every request but POST /v1/sessions (a beacon, which cannot set
# headers, carries it in the body's `csrf_token` instead).
CSRF_HEADER = "X-Allegro-CSRF"

# First-party cookies of the site's pages: the device's id (the site's backend may read it), the
# session every tab shares, and that session's last token, the proof that renews it.
DEVICE_COOKIE = "allegro_device_id"
SESSION_COOKIE = "allegro_session_id"
TOKEN_COOKIE = "allegro_session_token"
# The visitor's consent choice, "granted" or "denied" (docs/privacy.md): strictly necessary, it
# holds no identifier; a site's backend may read it too.
CONSENT_COOKIE = "allegro_consent"

MAX_NAME_CHARS = 128  # event_name
MAX_ID_CHARS = 128  # session_id, and an event_id quoted back in a rejection
MAX_TEXT_CHARS = 2048  # every other string field, and customer_id
MAX_DATA_BYTES = 16 * 1024  # `data` as compact JSON in UTF-8
MAX_DATA_DEPTH = 32  # `data` is level 1, each object or array inside it one more
# The collector refuses a larger batch (it bounds the work and the answer one request causes);
# the SDK sends at most BATCH_EVENTS at a time.
MAX_BATCH_EVENTS = 1000
BATCH_EVENTS = 100


def error_text(error: object) -> str:
    """An error answer's `error` ({"field", "message"}) as one line for the SDK's messages."""
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        field = error.get("field")
        return f"{message} (field {field})" if field else message
    return str(error)


def session_request(device_id: str, session_id: str | None, proof: str | None) -> str:
    """POST /v1/sessions: a new session, or the renewal of `session_id` with its last token."""
    body = {"device_id": device_id}
    if session_id:
        body["session_id"] = session_id
    if proof:
        body["csrf_token"] = proof
    return encode(body)


def member_login(device_id: str, session_id: str, customer_id: str, token: str) -> str:
    """POST /v1/members/login: `token` is the member token the site's backend signed."""
    return encode(
        {
            "device_id": device_id,
            "session_id": session_id,
            "customer_id": customer_id,
            "token": token,
        }
    )


def member_logout(device_id: str, session_id: str) -> str:
    """POST /v1/members/logout."""
    return encode({"device_id": device_id, "session_id": session_id})


def events_batch(
    session_id: str, device_id: str, events: list[str], csrf_token: str | None = None
) -> str:
    """POST /v1/events: `events` are JSON objects as text, each without its session's identity.

    The outbox keeps events as their JSON text, so a batch is string joins, not a new encoding
    of every event: the identity is written as the first members of each object.
    """
    identity = (
        '{"session_id":' + encode_string(session_id) + ',"device_id":' + encode_string(device_id)
    )
    members = [identity + "," + event[1:] for event in events]  # each event has its event_id
    head = "{" if csrf_token is None else '{"csrf_token":' + encode_string(csrf_token) + ","
    return head + '"events":[' + ",".join(members) + "]}"
