"""`POST /v1/sessions`: create a session, or renew a live one of the same device."""

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
from allegro_collector.schemas import SessionRequest
from allegro_collector.settings import Settings
from allegro_collector.store import Store
from allegro_sdk.core.protocol import SESSIONS_PATH


async def post_session(
    request: Request, *, settings: Settings, store: Store, clock: Clock
) -> Response:
    body = await read_model(request, SessionRequest, settings.max_body_bytes)
    now = clock()
    session_expires_at = now + settings.session_lifetime_ms
    session_id = body.session_id
    renewed = None
    if session_id is not None and _holds(body, settings, now):
        renewed = await run_in_threadpool(
            store.renew_session, session_id, body.device_id, now, session_expires_at
        )
    if session_id is None or renewed is None:
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
        claims = tokens.verify(body.csrf_token, settings.verification_keys, now, allow_expired=True)
        claims.check_binding(str(body.session_id), body.device_id)
    except tokens.TokenError:
        return False
    return True


def routes(settings: Settings, store: Store, clock: Clock) -> list[Route]:
    endpoint = functools.partial(post_session, settings=settings, store=store, clock=clock)
    return [Route(SESSIONS_PATH, endpoint, methods=["POST"])]
