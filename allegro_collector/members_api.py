"""`POST /v1/members/login` binds a verified member to the browser's session; `/logout` ends it.

The browser brings the token the site's backend minted (`member_tokens`); the CSRF token proves
the session and device are the browser's own. Once bound, every event stored for the session
carries the member's `customer_id`; nothing the browser claims later can change it.
"""

from __future__ import annotations

import functools

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
    body = await read_model(request, MemberLogin, settings.max_body_bytes)
    now = clock()
    _check_csrf(request, settings, now, body.session_id, body.device_id)
    try:
        verify_member_token(
            body.token, settings.member_secret, settings.member_audience, body.customer_id
        )
    except MemberTokenError as exc:
        field = "customer_id" if exc.problem is MemberTokenProblem.WRONG_CUSTOMER else "token"
        raise ApiError(401, exc.message, field, {"WWW-Authenticate": "Bearer"}) from None
    binding = await run_in_threadpool(
        store.bind_member, body.session_id, body.device_id, body.customer_id, now
    )
    if binding is Binding.SESSION_OVER:
        raise ApiError(409, "the session has ended; start a new one and log in again", "session_id")
    if binding is Binding.OTHER_MEMBER:
        raise ApiError(409, "the session belongs to another member; log out first", "customer_id")
    return JSONResponse({"customer_id": body.customer_id, "session_id": body.session_id})


async def logout(request: Request, *, settings: Settings, store: Store, clock: Clock) -> Response:
    """End the session, member and all, so nothing (another tab's renewal in flight, someone
    holding an old token) can bring it back; the SDK then starts a new session."""
    body = await read_model(request, MemberLogout, settings.max_body_bytes)
    now = clock()
    # An expired token still proves the browser held the session; ending it harms no one.
    _check_csrf(request, settings, now, body.session_id, body.device_id, allow_expired=True)
    await run_in_threadpool(store.end_session, body.session_id, body.device_id, now)
    return JSONResponse({"session_id": body.session_id})


def _check_csrf(
    request: Request,
    settings: Settings,
    now: int,
    session_id: str,
    device_id: str,
    *,
    allow_expired: bool = False,
) -> None:
    try:
        claims = tokens.verify(
            request.headers.get(CSRF_HEADER),
            settings.verification_keys,
            now,
            allow_expired=allow_expired,
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
