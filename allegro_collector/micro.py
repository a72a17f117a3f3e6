"""The micro collector: the real collector in memory, for a site's local runs and CI.

It is `create_app` itself (the same routes and the same validation, so what passes here passes in
production) on a temporary SQLite file deleted at exit, with secrets generated at start, every
loopback origin allowed, and `MicroRecorder` around it. The recorder watches `POST /v1/events`:
each event the collector stored is kept (as stored, read back from the database) and printed on
one line, each event it refused is kept with the reason; `GET /micro/good`, `GET /micro/bad` and
`POST /micro/reset` answer from that record.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allegro_collector.app import create_app
from allegro_collector.settings import Settings, SigningKey
from allegro_collector.sqlite_store import SqliteStore
from allegro_sdk.core.protocol import EVENTS_PATH, MAX_BATCH_EVENTS

# http://127.0.0.1:*, http://localhost:*, http://[::1]:* (what a test server on this machine is).
LOOPBACK_ORIGINS = r"http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?"
DEFAULT_PORT = 8766
# The fields a printed line leaves out: ids every event of a session shares, and times.
_QUIET_FIELDS = frozenset({"event_name", "timestamp", "device_id", "session_id", "received_at"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


UNLIMITED_SESSIONS = 10**9


def micro_settings(
    db_path: Path,
    *,
    allowed_origins: Sequence[str] = (),
    member_secret: str | None = None,
    member_audience: str | None = None,
) -> Settings:
    """The collector's settings with fresh random secrets; member login only when configured."""
    return Settings(
        db_path=db_path,
        signing_key=SigningKey.from_secret(secrets.token_urlsafe(32)),
        allowed_origins=tuple(allowed_origins),
        allowed_origin_regex=LOOPBACK_ORIGINS,
        admin_key=secrets.token_urlsafe(32),
        member_secret=None if member_secret is None else member_secret.encode(),
        member_audience=member_audience,
        # A site's test suite makes sessions as fast as its browsers start, all from one address:
        # the limits against session floods would only get in its way.
        sessions_per_device_minute=UNLIMITED_SESSIONS,
        sessions_per_address_minute=UNLIMITED_SESSIONS,
    )


@dataclass
class MicroRecord:
    """The events stored (`good`) and refused (`bad`) since the start or the last reset."""

    good: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_good(self, event: dict[str, Any]) -> bool:
        """Keep a stored event once: a resent event is acknowledged again but stored once."""
        with self._lock:
            if event["event_id"] in self._seen:
                return False
            self._seen.add(event["event_id"])
            self.good.append(event)
            return True

    def add_bad(self, refusal: dict[str, Any]) -> None:
        with self._lock:
            self.bad.append(refusal)

    def reset(self) -> None:
        with self._lock:
            self.good.clear()
            self.bad.clear()
            self._seen.clear()

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self._lock:
            return list(self.good), list(self.bad)


def good_line(event: Mapping[str, Any]) -> str:
    details = " ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}"
        for key, value in event.items()
        if key not in _QUIET_FIELDS and value is not None
    )
    return f"good {event['event_name']} {details}".rstrip()


def bad_line(refusal: Mapping[str, Any]) -> str:
    event = refusal["event"]
    name = event.get("event_name") if isinstance(event, dict) else None
    error = refusal["error"]
    where = f"{error['field']}: " if error["field"] else ""
    label = json.dumps(name, ensure_ascii=False) if isinstance(name, str) else "(no event name)"
    event_id = f" event_id={json.dumps(refusal['event_id'])}" if refusal["event_id"] else ""
    return f"bad  {label}{event_id} {refusal['status']} {where}{error['message']}"


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class MicroRecorder:
    """ASGI middleware around the collector: records `POST /v1/events` and serves /micro/*.

    The record is updated before the answer's last byte is sent, so a client that has the
    answer (the SDK's resolved promise) finds its events in `GET /micro/good`.
    """

    def __init__(
        self, app: ASGIApp, db_path: Path, record: MicroRecord, out: TextIO | None, quiet: bool
    ) -> None:
        self.app = app
        self.record = record
        self.out = out  # None: sys.stdout as it is when a line is printed
        self.quiet = quiet
        self._reader = SqliteStore(db_path)
        self._reader_lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"].startswith("/micro/"):
            await self._micro(scope, send)
        elif scope["path"] == EVENTS_PATH and scope["method"] == "POST":
            await self._watch_events(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _micro(self, scope: Scope, send: Send) -> None:
        good, bad = self.record.snapshot()
        routes: dict[tuple[str, str], Callable[[], tuple[int, Any]]] = {
            ("GET", "/micro/good"): lambda: (200, {"events": good}),
            ("GET", "/micro/bad"): lambda: (200, {"events": bad}),
            ("POST", "/micro/reset"): self._reset,
        }
        route = routes.get((scope["method"], scope["path"]))
        if route is None:
            known = ", ".join(f"{method} {path}" for method, path in routes)
            status, body = 404, {"error": {"field": None, "message": f"not found; see {known}"}}
        else:
            status, body = route()
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _reset(self) -> tuple[int, Any]:
        self.record.reset()
        self._print("reset: no good or bad events recorded")
        return 200, {"reset": True}

    async def _watch_events(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        status = 0

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                response_body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    sent = _json_body(b"".join(request_body))
                    answer = _json_body(b"".join(response_body))
                    await run_in_threadpool(self._record, status, sent, answer)
            await send(message)

        await self.app(scope, watched_receive, watched_send)

    def _record(self, status: int, sent: Any, answer: Any) -> None:
        raw_events = sent.get("events") if isinstance(sent, dict) else None
        raw_events = raw_events if isinstance(raw_events, list) else []
        if not isinstance(answer, dict):
            return
        if "error" in answer:  # the whole batch was refused: each of its events, same reason
            for index, raw in enumerate(raw_events or [None]):
                event_id = raw.get("event_id") if isinstance(raw, dict) else None
                self._refused(status, index, event_id, answer["error"], raw)
            return
        for rejection in answer.get("rejected", []):
            index = rejection["index"]
            raw = raw_events[index] if index < len(raw_events) else None
            self._refused(status, index, rejection["event_id"], rejection["error"], raw)
        accepted = set(answer.get("accepted", []))
        if accepted:
            for event in self._stored(raw_events, accepted):
                if self.record.add_good(event):
                    self._print(good_line(event))

    def _refused(
        self, status: int, index: int, event_id: Any, error: dict[str, Any], raw: Any
    ) -> None:
        refusal = {
            "status": status,
            "index": index,
            "event_id": event_id if isinstance(event_id, str) else None,
            "error": error,
            "event": raw,
        }
        self.record.add_bad(refusal)
        self._print(bad_line(refusal))

    def _stored(self, raw_events: list[Any], accepted: set[str]) -> list[dict[str, Any]]:
        """The accepted events as the collector stored them, in the order they were sent.

        A batch's events all belong to its token's session, so one read of that session's newest
        events finds them (a batch holds at most MAX_BATCH_EVENTS).
        """
        sessions = {
            raw.get("session_id")
            for raw in raw_events
            if isinstance(raw, dict) and raw.get("event_id") in accepted
        }
        with self._reader_lock:
            if not self._reader.is_open:
                self._reader.open()
            stored = {
                event["event_id"]: event
                for session_id in sessions
                if isinstance(session_id, str)
                for event in self._reader.list_events(session_id, None, MAX_BATCH_EVENTS)
            }
        order = [raw.get("event_id") for raw in raw_events if isinstance(raw, dict)]
        return [stored[key] for key in dict.fromkeys(order) if key in accepted and key in stored]

    def _print(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        self._reader.close()


@contextmanager
def micro_app(
    *,
    allowed_origins: Sequence[str] = (),
    member_secret: str | None = None,
    member_audience: str | None = None,
    out: TextIO | None = None,
    quiet: bool = False,
) -> Iterator[tuple[MicroRecorder, Settings]]:
    """A micro collector app on a temporary database, deleted when the block ends."""
    with tempfile.TemporaryDirectory(prefix="allegro-micro-") as directory:
        settings = micro_settings(
            Path(directory) / "events.sqlite3",
            allowed_origins=allowed_origins,
            member_secret=member_secret,
            member_audience=member_audience,
        )
        app = MicroRecorder(create_app(settings), settings.db_path, MicroRecord(), out, quiet)
        try:
            yield app, settings
        finally:
            app.close()


@dataclass(frozen=True)
class RunningMicro:
    """A micro collector served from a thread of this process."""

    url: str
    settings: Settings
    record: MicroRecord


@contextmanager
def running_micro(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout: float = 10.0,
    **options: Any,
) -> Iterator[RunningMicro]:
    """Serve a micro collector (port 0: a free one) until the block ends; for pytest fixtures.

    `options` are `micro_app`'s: `allowed_origins`, `member_secret` with `member_audience`,
    `out` (where events are printed; default stdout) and `quiet` (print nothing)."""
    if not is_loopback(host):
        raise ValueError(f"{host} is not a loopback address")
    with micro_app(**options) as (app, settings):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, so asyncio turns on TCP_NODELAY (protocol 0 leaves Nagle on).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((host, port))
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="allegro-micro", daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + start_timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the micro collector did not start")
                time.sleep(0.01)
            shown = f"[{host}]" if family == socket.AF_INET6 else host
            yield RunningMicro(f"http://{shown}:{sock.getsockname()[1]}", settings, app.record)
        finally:
            server.should_exit = True
            thread.join(timeout=start_timeout)
            sock.close()


def add_micro_arguments(parser: argparse.ArgumentParser) -> None:
    # Imported here: cli.py imports this module for its command table.
    from allegro_collector.cli import MEMBER_SECRET, add_secret_arguments

    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (loopback)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="listen on a --host that is not a loopback address (the micro collector has no "
        "protection worth the name: only on a network you trust)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another origin allowed by CORS besides every http loopback origin (repeatable)",
    )
    add_secret_arguments(parser, (MEMBER_SECRET,))
    parser.add_argument(
        "--member-audience",
        help="with a member secret: the site, as the 'aud' claim of member tokens "
        "[or $ALLEGRO_MEMBER_AUDIENCE]",
    )


def prepare_micro(args: argparse.Namespace, environ: Mapping[str, str]) -> Callable[[], None]:
    """Check the flags (ValueError: a usage error); the returned call serves until stopped."""
    from allegro_collector.cli import MEMBER_SECRET, read_secret

    if not is_loopback(args.host) and not args.allow_non_loopback:
        raise ValueError(
            f"--host {args.host} is not a loopback address; the micro collector is for local "
            "and CI use: add --allow-non-loopback to listen there anyway"
        )
    member_secret = read_secret(MEMBER_SECRET, args, environ)
    member_audience = args.member_audience or environ.get("ALLEGRO_MEMBER_AUDIENCE") or None
    if member_secret is None:
        member_audience = None  # the audience alone (e.g. a shell's environment) is not login
    elif member_audience is None:
        raise ValueError("a member secret needs --member-audience (or ALLEGRO_MEMBER_AUDIENCE)")
    options = {
        "allowed_origins": args.allow_origin,
        "member_secret": member_secret,
        "member_audience": member_audience,
    }
    micro_settings(Path("unused.sqlite3"), **options)  # a ValueError before anything listens

    def run() -> None:
        with micro_app(**options) as (app, _):
            host = f"[{args.host}]" if ":" in args.host else args.host
            print(
                f"micro collector: http://{host}:{args.port}  (in memory; any loopback origin; "
                "GET /micro/good, GET /micro/bad, POST /micro/reset)",
                flush=True,
            )
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning")

    return run
