"""`allegro-collector`: build Settings from flags and environment, then serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

import uvicorn

from allegro_collector.app import create_app
from allegro_collector.serving import install_log_limits, uvicorn_options
from allegro_collector.settings import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_HEAD_TIMEOUT_SECONDS,
    DEFAULT_MAX_PENDING_BATCHES,
    DEFAULT_RETRY_AFTER_SECONDS,
    DEFAULT_SESSIONS_PER_ADDRESS_MINUTE,
    DEFAULT_SESSIONS_PER_DEVICE_MINUTE,
    Settings,
    SigningKey,
)

logger = logging.getLogger("allegro_collector")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="allegro-collector", description="Receive allegro SDK events and store them in SQLite."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    parser.add_argument("--db", type=Path, default=Path("events.sqlite3"), help="SQLite file")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin allowed by CORS, e.g. http://127.0.0.1:8000 (repeatable)",
    )
    parser.add_argument("--admin-key", help="Bearer key for GET /v1/events [ALLEGRO_ADMIN_KEY]")
    parser.add_argument("--secret", help="CSRF token signing secret [ALLEGRO_SECRET]")
    parser.add_argument(
        "--previous-secret",
        help="the secret before the last rotation, still accepted [ALLEGRO_PREVIOUS_SECRET]",
    )
    parser.add_argument(
        "--member-secret",
        help="identity secret shared with the site's backend, at least 32 bytes; enables "
        "member.login() [ALLEGRO_MEMBER_SECRET]",
    )
    parser.add_argument(
        "--member-audience",
        help="the site, as the 'aud' claim of member tokens, e.g. https://news.example "
        "[ALLEGRO_MEMBER_AUDIENCE]",
    )
    parser.add_argument(
        "--max-pending-batches",
        type=int,
        default=DEFAULT_MAX_PENDING_BATCHES,
        metavar="N",
        help="event batches waiting for or being written at once; more get 503 "
        f"(default {DEFAULT_MAX_PENDING_BATCHES})",
    )
    parser.add_argument(
        "--retry-after",
        type=int,
        default=DEFAULT_RETRY_AFTER_SECONDS,
        metavar="SECONDS",
        help="Retry-After of the 503 answered when the ingest queue is full "
        f"(default {DEFAULT_RETRY_AFTER_SECONDS})",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (IP or network) whose X-Forwarded-For names the client (repeatable)",
    )
    parser.add_argument(
        "--sessions-per-device",
        type=int,
        default=DEFAULT_SESSIONS_PER_DEVICE_MINUTE,
        metavar="N",
        help=f"new sessions a minute per device id; more get 429 "
        f"(default {DEFAULT_SESSIONS_PER_DEVICE_MINUTE})",
    )
    parser.add_argument(
        "--sessions-per-address",
        type=int,
        default=DEFAULT_SESSIONS_PER_ADDRESS_MINUTE,
        metavar="N",
        help=f"new sessions a minute per client address; more get 429 "
        f"(default {DEFAULT_SESSIONS_PER_ADDRESS_MINUTE})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections at most (default: the open-file limit minus 64)",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=DEFAULT_HEAD_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="a request's headers must arrive within this "
        f"(default {DEFAULT_HEAD_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"a request's body must arrive within this (default {DEFAULT_BODY_TIMEOUT_SECONDS:g})",
    )
    return parser


def build_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Flags win over the environment; missing secrets and keys are warned about, not fatal."""
    admin_key = args.admin_key or environ.get("ALLEGRO_ADMIN_KEY") or None
    secret = args.secret or environ.get("ALLEGRO_SECRET") or None
    previous = args.previous_secret or environ.get("ALLEGRO_PREVIOUS_SECRET") or None
    member_secret = args.member_secret or environ.get("ALLEGRO_MEMBER_SECRET") or None
    member_audience = args.member_audience or environ.get("ALLEGRO_MEMBER_AUDIENCE") or None
    if secret is None:
        secret = secrets.token_urlsafe(32)
        logger.warning(
            "no --secret or ALLEGRO_SECRET: using a random one, "
            "so CSRF tokens will not survive a restart"
        )
    if admin_key is None:
        logger.warning(
            "no --admin-key or ALLEGRO_ADMIN_KEY: GET /v1/events answers 401 to every request"
        )
    if member_secret is None and member_audience is None:
        logger.warning("no --member-secret and --member-audience: member.login() answers 501")
    if not args.allow_origin:
        logger.warning("no --allow-origin: browsers on other origins cannot send events")
    return Settings(
        db_path=args.db,
        signing_key=SigningKey.from_secret(secret),
        previous_signing_key=None if previous is None else SigningKey.from_secret(previous),
        allowed_origins=tuple(args.allow_origin),
        admin_key=admin_key,
        max_pending_batches=args.max_pending_batches,
        retry_after_seconds=args.retry_after,
        member_secret=None if member_secret is None else member_secret.encode(),
        member_audience=member_audience,
        trusted_proxies=tuple(args.trusted_proxy),
        sessions_per_device_minute=args.sessions_per_device,
        sessions_per_address_minute=args.sessions_per_address,
        max_connections=args.max_connections,
        head_timeout_seconds=args.head_timeout,
        body_timeout_seconds=args.body_timeout,
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = build_settings(args, environ)
    except ValueError as exc:
        parser.error(str(exc))
    logger.info("storing events in %s", settings.db_path.resolve())
    install_log_limits()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, **uvicorn_options(settings))
