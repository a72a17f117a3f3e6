"""`POST /v1/sessions`: create a session, or renew a live one of the same device.

Creating sessions is rate-limited per device id and per client address (429 with Retry-After):
each costs a row, and a client inventing device ids must not fill the database.
Renewing one is not limited: it creates nothing.
"""

from __future__ import annotations

import functools
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector import tokens
from allegro_collector.bodies import read_model
from allegro_collector.client_address import Network, client_address
from allegro_collector.clock import Clock
from allegro_collector.errors import ApiError
from allegro_collector.ratelimit import RateLimiter
from allegro_collector.schemas import SessionRequest
from allegro_collector.settings import Settings
from allegro_collector.store import Store
from allegro_sdk.core.protocol import SESSIONS_PATH


class SessionLimits:
    """The two rates of new sessions: per device id and per client address."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        seconds = lambda: clock() / 1000  # noqa: E731 - the test clock moves it too
        self.per_device = RateLimiter(settings.sessions_per_device_minute, seconds)
        self.per_address = RateLimiter(settings.sessions_per_address_minute, seconds)
        self.trusted_proxies: tuple[Network, ...] = settings.trusted_networks

    def take(self, request: Request, device_id: str) -> None:
        """Count one new session, or raise the 429 that says when to come back."""
        address = client_address(request, self.trusted_proxies)
        for limiter, key, field, who in (
            (self.per_device, device_id, "device_id", "this device"),
            (self.per_address, address, None, f"the address {address}"),
        ):
            wait = limiter.wait_seconds(key)
            if wait:
                raise ApiError(
                    429,
                    f"too many new sessions from {who} (at most {limiter.per_minute} a minute); "
                    f"retry in {wait} s",
                    field,
                    {"Retry-After": str(wait)},
                )
        self.per_device.take(device_id)
        self.per_address.take(address)


async def post_session(
    request: Request, *, settings: Settings, store: Store, clock: Clock, limits: SessionLimits
) -> Response:
    body = await read_model(request, SessionRequest, settings)
    now = clock()
    session_expires_at = now + settings.session_lifetime_ms
    session_id = body.session_id
    renewed = None
    if session_id is not None and _holds(body, settings, now):
        renewed = await run_in_threadpool(
            store.renew_session, session_id, body.device_id, now, session_expires_at
        )
    if session_id is None or renewed is None:
        limits.take(request, body.device_id)
        session_id = str(uuid.uuid4())
        await run_in_threadpool(
            store.create_session, session_id, body.device_id, now, session_expires_at
        )
    token_expires_at = now + settings.token_lifetime_ms
    token = tokens.issue(settings.signing_key, session_id, body.device_id, token_expires_at)
    return JSONResponse(
        {
            "session_id": session_id,
            "csrf_token": token,
            "expires_at": token_expires_at,
            # The member a verified login bound to this session: a reload keeps the member.
            "customer_id": None if renewed is None else renewed.customer_id,
        },
        201,
    )


def _holds(body: SessionRequest, settings: Settings, now: int) -> bool:
    """Whether the browser proved it holds the session it asks to renew: a token of ours for that
    session and device. Session and device ids are not secrets (every stored event carries
    them), so without this anyone who saw them could take over the session, and its member."""
    try:
        claims = tokens.verify(
            body.csrf_token,
            settings.verification_keys,
            now,
            # A live session's last token expired at most one session lifetime ago: events
            # extend a session by that much beyond its token.
            expired_for_at_most_ms=settings.session_lifetime_ms,
        )
        claims.check_binding(str(body.session_id), body.device_id)
    except tokens.TokenError:
        return False
    return True


def routes(settings: Settings, store: Store, clock: Clock) -> list[Route]:
    endpoint = functools.partial(
        post_session,
        settings=settings,
        store=store,
        clock=clock,
        limits=SessionLimits(settings, clock),
    )
    return [Route(SESSIONS_PATH, endpoint, methods=["POST"])]
