"""`POST /v1/members/login` moves a verified member to a new session; `/logout` ends it.

The browser brings the token the site's backend minted (`member_tokens`); the CSRF token proves
the session and device are the browser's own. A login rotates the session: the member is bound
to a new session id with a new token, and the anonymous session ends. Someone who planted that
session's cookies in the victim's browser before the login (session fixation) keeps only a
token of an ended session: it renews nothing and never carries the member. Every event stored
for the new session carries the member's `customer_id`; nothing the browser claims can change it.
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
from allegro_collector.clock import Clock
from allegro_collector.errors import ApiError
from allegro_collector.member_tokens import (
    MemberTokenError,
    MemberTokenProblem,
    verify_member_token,
)
from allegro_collector.schemas import MemberLogin, MemberLogout
from allegro_collector.settings import Settings
from allegro_collector.store import Binding, Store
from allegro_sdk.core.protocol import CSRF_HEADER, MEMBER_LOGIN_PATH, MEMBER_LOGOUT_PATH

NOT_ENABLED = (
    "member login is not enabled on this collector: "
    "start it with ALLEGRO_MEMBER_SECRET (or --member-secret-file) and --member-audience"
)


async def login(request: Request, *, settings: Settings, store: Store, clock: Clock) -> Response:
    if settings.member_secret is None or settings.member_audience is None:
        raise ApiError(501, NOT_ENABLED)
    body = await read_model(request, MemberLogin, settings)
    now = clock()
    _check_csrf(request, settings, now, body.session_id, body.device_id)
    try:
        verify_member_token(
            body.token, settings.member_secret, settings.member_audience, body.customer_id
        )
    except MemberTokenError as exc:
        field = "customer_id" if exc.problem is MemberTokenProblem.WRONG_CUSTOMER else "token"
        raise ApiError(401, exc.message, field, {"WWW-Authenticate": "Bearer"}) from None
    expires_at = now + settings.session_lifetime_ms
    outcome = await run_in_threadpool(
        store.log_in,
        body.session_id,
        body.device_id,
        body.customer_id,
        str(uuid.uuid4()),
        now,
        expires_at,
    )
    if outcome.binding is Binding.OTHER_MEMBER:
        raise ApiError(409, "the session belongs to another member; log out first", "customer_id")
    if outcome.binding is Binding.SESSION_OVER or outcome.session_id is None:
        raise ApiError(409, "the session has ended; start a new one and log in again", "session_id")
    token_expires_at = now + settings.token_lifetime_ms
    token = tokens.issue(settings.signing_key, outcome.session_id, body.device_id, token_expires_at)
    return JSONResponse(
        {
            "customer_id": body.customer_id,
            "session_id": outcome.session_id,
            "csrf_token": token,
            "expires_at": token_expires_at,
        }
    )


async def logout(request: Request, *, settings: Settings, store: Store, clock: Clock) -> Response:
    """End the session, member and all, so nothing (another tab's renewal in flight, someone
    holding an old token) can bring it back; the SDK then starts a new session."""
    body = await read_model(request, MemberLogout, settings)
    now = clock()
    # An expired token still proves the browser held the session; ending it harms no one.
    _check_csrf(
        request, settings, now, body.session_id, body.device_id, expired_for_at_most_ms=None
    )
    await run_in_threadpool(store.end_session, body.session_id, body.device_id, now)
    return JSONResponse({"session_id": body.session_id})


def _check_csrf(
    request: Request,
    settings: Settings,
    now: int,
    session_id: str,
    device_id: str,
    *,
    expired_for_at_most_ms: int | None = 0,
) -> None:
    try:
        claims = tokens.verify(
            request.headers.get(CSRF_HEADER),
            settings.verification_keys,
            now,
            expired_for_at_most_ms=expired_for_at_most_ms,
        )
        claims.check_binding(session_id, device_id)
    except tokens.TokenError as exc:
        field = {
            tokens.TokenProblem.WRONG_SESSION: "session_id",
            tokens.TokenProblem.WRONG_DEVICE: "device_id",
        }.get(exc.problem, "csrf_token")
        raise ApiError(403, exc.message, field) from None


def routes(settings: Settings, store: Store, clock: Clock) -> list[Route]:
    return [
        Route(
            MEMBER_LOGIN_PATH,
            functools.partial(login, settings=settings, store=store, clock=clock),
            methods=["POST"],
        ),
        Route(
            MEMBER_LOGOUT_PATH,
            functools.partial(logout, settings=settings, store=store, clock=clock),
            methods=["POST"],
        ),
    ]
