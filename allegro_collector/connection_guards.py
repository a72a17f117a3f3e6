"""Connection guards: slow and idle clients cannot use up a collector process.

uvicorn (h11) times a connection out only after it has answered on it (`timeout_keep_alive`), and
it counts open connections only to answer 503 to requests, still accepting sockets until the
process runs out of file descriptors. `guarded_h11` adds, per server (per worker process with
`--workers N`: each has its own descriptors):

- a deadline for a request's head (request line and headers), from the connection's first
  moment or, on a kept-alive connection, from the request's first byte: a client that sends
  nothing, or its headers a byte at a time (slowloris), is disconnected;
- a cap on open connections: a connection beyond it first makes room by closing the connection
  that has been idle (no request in progress) the longest, and is itself closed when every
  connection is busy, so idle sockets can never keep a working client out;
- a connection whose answer went out before its request body came in is closed;
- every connection sends at once (`send_at_once`: TCP_NODELAY, which asyncio sets only on some).

The deadline for a request's body is kept by the app where it reads bodies (`bodies.py`), so the
client gets a 408 rather than a cut connection; a request whose body had all arrived when the app
was started (the usual small batch, sent with its head) is marked `BODY_RECEIVED` in its scope,
and reading it needs no deadline. h11 itself bounds a request's head to
`h11_max_incomplete_event_size` (16 KiB). Errors such as "Too many open files" are logged at
most once per interval by `OncePerInterval`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import time
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from allegro_collector.settings import Settings

logger = logging.getLogger("allegro_collector")

H11_MAX_HEAD_BYTES = 16 * 1024
# Set in a request's scope when its whole body had arrived before the app was started: reading
# it then cannot wait, so it needs no deadline (`bodies.read_body`).
BODY_RECEIVED = "allegro.body_received"
FD_RESERVE = 64  # descriptors kept for the database, its journal, logs and the listening socket


def default_max_connections() -> int:
    """The open-file limit of the process minus a reserve: accepted sockets never exhaust it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(8, soft - FD_RESERVE)


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """Turn off Nagle's algorithm on a TCP connection.

    h11 writes an answer's head and body apart; with Nagle on, the body waits for the client
    to acknowledge the head, which a client delays by up to 40 ms. asyncio turns it off only on
    sockets made as IPPROTO_TCP, and the listening socket uvicorn binds itself for `--workers
    N` is not one: there every answer took about 48 ms (docs/scaling.md).
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def sweep_interval(head_timeout_seconds: float) -> float:
    """How often late heads are looked for: a quarter of the deadline, at most once a second, so
    a connection is closed at most a quarter late (and never more than a second)."""
    return min(1.0, max(0.01, head_timeout_seconds / 4))


def guarded_h11(head_timeout_seconds: float, max_connections: int) -> type[H11Protocol]:
    """An H11Protocol class for one server, with the head deadline and the connection cap.

    The deadlines are kept without a timer per request: connections waiting for a head sit in
    `heads`, oldest deadline first, and one sweep every `sweep_interval` closes the late ones
    from the front: a timer set and cancelled for every request was a measurable part of a
    one-event request's work on the event loop (docs/scaling.md, the fifth profile).
    """
    idle: OrderedDict[H11Protocol, None] = OrderedDict()  # idle connections, oldest first
    heads: OrderedDict[GuardedH11, float] = OrderedDict()  # awaiting a head: its deadline
    refused = OncePerInterval(logger, 10.0)
    interval = sweep_interval(head_timeout_seconds)
    sweeping: list[asyncio.TimerHandle] = []  # the pending sweep, while heads are awaited

    def sweep(loop: asyncio.AbstractEventLoop) -> None:
        sweeping.clear()
        now = loop.time()
        late = []
        for connection, deadline in heads.items():
            if deadline > now:
                break
            late.append(connection)
        for connection in late:
            connection._close(f"no complete request head within {head_timeout_seconds:g} s")
        if heads:
            sweeping.append(loop.call_later(interval, sweep, loop))

    class GuardedH11(H11Protocol):
        _awaiting_head = False
        _cycle_at_arm: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            send_at_once(transport)
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                if idle:
                    oldest, _ = idle.popitem(last=False)
                    assert isinstance(oldest, GuardedH11)
                    oldest._close("closed to make room: connection cap reached")
                else:
                    refused.log(
                        logging.WARNING,
                        "refusing connections: all %d are busy (--max-connections)",
                        max_connections,
                    )
                    self._close("refused: every connection is busy")
                    return
            self._wait_for_head()

        def data_received(self, data: bytes) -> None:
            if not self._awaiting_head and (self.cycle is None or self.cycle.response_complete):
                self._wait_for_head()  # a new request starts on a kept-alive connection
            super().data_received(data)
            if self._awaiting_head and self.cycle is not self._cycle_at_arm:
                self._head_done()  # the head was parsed: a request is in progress
            if self.conn.their_state is h11.DONE and self.cycle is not None:
                self.cycle.scope[BODY_RECEIVED] = True  # type: ignore[literal-required]

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.their_state is h11.SEND_BODY:
                self._close("answered before its request body was received")
            elif not self.transport.is_closing() and self.cycle.response_complete:
                idle[self] = None  # kept alive, waiting for its next request
                idle.move_to_end(self)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            idle.pop(self, None)
            super().connection_lost(exc)

        def _wait_for_head(self) -> None:
            self._stop_waiting()
            self._cycle_at_arm = self.cycle
            self._awaiting_head = True
            heads[self] = self.loop.time() + head_timeout_seconds  # the latest deadline: last
            if not sweeping:
                sweeping.append(self.loop.call_later(interval, sweep, self.loop))
            idle[self] = None
            idle.move_to_end(self)

        def _head_done(self) -> None:
            self._stop_waiting()
            idle.pop(self, None)

        def _stop_waiting(self) -> None:
            if self._awaiting_head:
                self._awaiting_head = False
                del heads[self]

        def _close(self, why: str) -> None:
            self._stop_waiting()
            idle.pop(self, None)
            if not self.transport.is_closing():
                # No client address: the collector logs none (log_privacy.py).
                self.logger.debug("closing a connection: %s", why)
                self.transport.close()

    return GuardedH11


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn.Config options that apply `settings`' connection limits."""
    max_connections = settings.max_connections or default_max_connections()
    return {
        "http": guarded_h11(settings.head_timeout_seconds, max_connections),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": H11_MAX_HEAD_BYTES,
        # uvicorn would otherwise take X-Forwarded-For from 127.0.0.1 as the client's address;
        # the app reads it itself, from the proxies the operator trusts (client_address.py).
        "proxy_headers": False,
    }


# Errors a flood causes over and over; each is logged once per interval with a count.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class OncePerInterval:
    """Logs a message at most once per `interval` seconds, saying how many were left out."""

    def __init__(self, target: logging.Logger, interval: float) -> None:
        self.target = target
        self.interval = interval
        self._last = -float("inf")
        self._skipped = 0

    def log(self, level: int, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._skipped += 1
            return
        if self._skipped:
            message += f" (and {self._skipped} more like it in the last {self.interval:g} s)"
        self._last, self._skipped = now, 0
        self.target.log(level, message, *args)


class ResourceErrorFilter(logging.Filter):
    """Lets through one record about running out of descriptors (or memory, buffers) per
    interval; the rest are counted and mentioned in the next one that passes."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._last = -float("inf")
        self._skipped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not _about_resources(record):
            return True
        now = time.monotonic()
        if now - self._last < self.interval:
            self._skipped += 1
            return False
        if self._skipped:
            record.msg = f"{record.msg} (and {self._skipped} more like it, not logged)"
        self._last, self._skipped = now, 0
        return True


def _about_resources(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
        return True
    return "Too many open files" in record.getMessage()


def install_log_limits(interval: float = 10.0) -> None:
    """Filter the loggers that report accept() and connection failures (asyncio, uvicorn)."""
    resource_filter = ResourceErrorFilter(interval)
    for name in ("asyncio", "uvicorn.error", "uvicorn", "allegro_collector"):
        logging.getLogger(name).addFilter(resource_filter)
