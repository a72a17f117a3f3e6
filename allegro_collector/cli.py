"""`allegro-collector`: build Settings from flags and environment, then serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from allegro_collector.serving import serve
from allegro_collector.settings import (
    DEFAULT_BUSY_HOLD_SECONDS,
    DEFAULT_MAX_PENDING_BATCHES,
    DEFAULT_RETRY_AFTER_SECONDS,
    POSTGRES_SCHEMES,
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
    parser.add_argument(
        "--db",
        default="events.sqlite3",
        help="a SQLite file, or a postgresql://user@host/database URL (a password is better "
        "given in ~/.pgpass or PGPASSWORD than on the command line)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes serving the port (default 1); above 1 needs PostgreSQL",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off: see GET /metrics)"
    )
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
        "--busy-hold",
        type=float,
        default=DEFAULT_BUSY_HOLD_SECONDS,
        metavar="SECONDS",
        help="how long a batch that finds the ingest queue full waits for a place (its body "
        f"unread) before the 503; at most --retry-after (default {DEFAULT_BUSY_HOLD_SECONDS:g})",
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
    postgres = args.db.startswith(POSTGRES_SCHEMES)
    return Settings(
        db_path=Path("events.sqlite3" if postgres else args.db),
        postgres_url=args.db if postgres else None,
        signing_key=SigningKey.from_secret(secret),
        previous_signing_key=None if previous is None else SigningKey.from_secret(previous),
        allowed_origins=tuple(args.allow_origin),
        admin_key=admin_key,
        max_pending_batches=args.max_pending_batches,
        retry_after_seconds=args.retry_after,
        busy_hold_seconds=args.busy_hold,
        member_secret=None if member_secret is None else member_secret.encode(),
        member_audience=member_audience,
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = build_settings(args, environ)
    except ValueError as exc:
        parser.error(str(exc))
    if settings.postgres_url is None:
        logger.info("storing events in %s", settings.db_path.resolve())
    else:
        logger.info("storing events in PostgreSQL")
    try:
        serve(settings, args.host, args.port, workers=args.workers, access_log=args.access_log)
    except ValueError as exc:
        parser.error(str(exc))
