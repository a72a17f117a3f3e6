"""`allegro-collector`: one command line, with subcommands; `serve` is the default.

Each subcommand is a `Command` in `COMMANDS`: its flags and what it runs. A new command is one more
entry there. Secrets never come from a flag's value (command lines are visible to every user of the
machine in `ps`): they come from the environment or from a file named by a `--*-file` flag.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from allegro_collector import micro, serving
from allegro_collector.settings import (
    DAY_MS,
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_BUSY_HOLD_SECONDS,
    DEFAULT_ERASURE_WINDOW_MS,
    DEFAULT_HEAD_TIMEOUT_SECONDS,
    DEFAULT_MAX_PENDING_BATCHES,
    DEFAULT_RETRY_AFTER_SECONDS,
    DEFAULT_SESSIONS_PER_ADDRESS_MINUTE,
    DEFAULT_SESSIONS_PER_DEVICE_MINUTE,
    POSTGRES_SCHEMES,
    Settings,
    SigningKey,
)

logger = logging.getLogger("allegro_collector")

PROG = "allegro-collector"
DEFAULT_COMMAND = "serve"


@dataclass(frozen=True)
class SecretOption:
    """A secret read from `variable` or from the file named by `--{flag}-file`, never a flag."""

    flag: str  # the name the old value flag had, e.g. "secret" for --secret
    variable: str
    what: str

    @property
    def file_flag(self) -> str:
        return f"--{self.flag}-file"

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_") + "_file"


SECRET = SecretOption("secret", "ALLEGRO_SECRET", "CSRF token signing secret")
PREVIOUS_SECRET = SecretOption(
    "previous-secret",
    "ALLEGRO_PREVIOUS_SECRET",
    "token secret from before the last rotation (still accepted)",
)
ADMIN_KEY = SecretOption("admin-key", "ALLEGRO_ADMIN_KEY", "Bearer key for GET /v1/events")
MEMBER_SECRET = SecretOption(
    "member-secret",
    "ALLEGRO_MEMBER_SECRET",
    "identity secret shared with the site's backend, at least 32 bytes; with "
    "--member-audience, enables member.login()",
)
SERVE_SECRETS = (SECRET, PREVIOUS_SECRET, ADMIN_KEY, MEMBER_SECRET)


class _RefuseSecretValue(argparse.Action):
    """A removed `--secret VALUE` style flag: stop with a usage error that says what to do."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, secret: SecretOption, **_: object
    ) -> None:
        self.secret = secret
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"--{self.secret.flag} is not accepted: a command line is visible to every user of "
            f"the machine; set {self.secret.variable} or give {self.secret.file_flag} PATH"
        )


def add_secret_arguments(parser: argparse.ArgumentParser, options: Sequence[SecretOption]) -> None:
    for option in options:
        parser.add_argument(
            option.file_flag,
            dest=option.dest,
            type=Path,
            metavar="PATH",
            help=f"a file holding the {option.what} [or ${option.variable}]",
        )
        parser.add_argument(
            f"--{option.flag}", action=_RefuseSecretValue, secret=option, dest=argparse.SUPPRESS
        )


def read_secret(
    option: SecretOption, args: argparse.Namespace, environ: Mapping[str, str]
) -> str | None:
    """The secret from its file or its variable (not both), or None when neither is given.

    A file's trailing line break is not part of the secret (editors and `echo` add one).
    """
    path: Path | None = getattr(args, option.dest)
    from_environment = environ.get(option.variable) or None
    if path is None:
        return from_environment
    if from_environment is not None:
        raise ValueError(f"{option.variable} and {option.file_flag} are both given: keep one")
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{option.file_flag}: cannot read {path}: {exc}") from exc
    if not value:
        raise ValueError(f"{option.file_flag}: {path} is empty")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
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
    add_secret_arguments(parser, SERVE_SECRETS)
    parser.add_argument(
        "--member-audience",
        help="the site, as the 'aud' claim of member tokens, e.g. https://news.example "
        "[or $ALLEGRO_MEMBER_AUDIENCE]",
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
        help="new sessions a minute per device id; more get 429 "
        f"(default {DEFAULT_SESSIONS_PER_DEVICE_MINUTE})",
    )
    parser.add_argument(
        "--sessions-per-address",
        type=int,
        default=DEFAULT_SESSIONS_PER_ADDRESS_MINUTE,
        metavar="N",
        help="new sessions a minute per client address; more get 429 "
        f"(default {DEFAULT_SESSIONS_PER_ADDRESS_MINUTE})",
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        metavar="N",
        help="delete events N days after they were received (and sessions idle or ended that "
        "long); default: events are kept until their device is erased",
    )
    parser.add_argument(
        "--erasure-window-days",
        type=int,
        default=DEFAULT_ERASURE_WINDOW_MS // DAY_MS,
        metavar="N",
        help="after DELETE /v1/devices/ID, the device's events are acknowledged and not stored "
        "for N days: at least the SDK's data-outbox-max-days "
        f"(default {DEFAULT_ERASURE_WINDOW_MS // DAY_MS})",
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


def build_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Secrets from files or the environment; missing ones are warned about, not fatal."""
    admin_key = read_secret(ADMIN_KEY, args, environ)
    secret = read_secret(SECRET, args, environ)
    previous = read_secret(PREVIOUS_SECRET, args, environ)
    member_secret = read_secret(MEMBER_SECRET, args, environ)
    member_audience = args.member_audience or environ.get("ALLEGRO_MEMBER_AUDIENCE") or None
    if secret is None:
        secret = secrets.token_urlsafe(32)
        logger.warning(
            "no ALLEGRO_SECRET or --secret-file: using a random secret, "
            "so CSRF tokens will not survive a restart"
        )
    if admin_key is None:
        logger.warning(
            "no ALLEGRO_ADMIN_KEY or --admin-key-file: GET /v1/events answers 401 to every request"
        )
    if member_secret is None and member_audience is None:
        logger.warning("no member secret and --member-audience: member.login() answers 501")
    if not args.allow_origin:
        logger.warning("no --allow-origin: browsers on other origins cannot send events")
    if args.retention_days is not None and args.retention_days < 1:
        raise ValueError("--retention-days must be at least 1")
    if args.erasure_window_days < 0:
        raise ValueError("--erasure-window-days must not be negative")
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
        trusted_proxies=tuple(args.trusted_proxy),
        sessions_per_device_minute=args.sessions_per_device,
        sessions_per_address_minute=args.sessions_per_address,
        max_connections=args.max_connections,
        head_timeout_seconds=args.head_timeout,
        body_timeout_seconds=args.body_timeout,
        event_retention_ms=None if args.retention_days is None else args.retention_days * DAY_MS,
        erasure_window_ms=args.erasure_window_days * DAY_MS,
    )


def serve(args: argparse.Namespace, environ: Mapping[str, str]) -> Callable[[], None]:
    """Check the configuration (a ValueError is a usage error); the returned call serves."""
    settings = build_settings(args, environ)

    serving.check_workers(settings, args.workers)

    def run() -> None:
        if settings.postgres_url is None:
            logger.info("storing events in %s", settings.db_path.resolve())
        else:
            logger.info("storing events in PostgreSQL")
        serving.serve(
            settings, args.host, args.port, workers=args.workers, access_log=args.access_log
        )

    return run


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, its flags, and `prepare`, which checks the parsed flags
    (raising ValueError for a usage error) and returns what runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    prepare: Callable[[argparse.Namespace, Mapping[str, str]], Callable[[], None]]


COMMANDS: dict[str, Command] = {
    "serve": Command(
        "receive events and store them in SQLite or PostgreSQL (the default command)",
        add_serve_arguments,
        serve,
    ),
    "micro": Command(
        "the collector in memory for local and CI tests of a site's tracking: prints each "
        "event, answers GET /micro/good, GET /micro/bad, POST /micro/reset (loopback only)",
        micro.add_micro_arguments,
        micro.prepare_micro,
    ),
}


def build_parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own (whose usage a usage error prints)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Receive allegro SDK events. Without a command, `serve` runs. Secrets come "
        "from the environment or from files, never from the command line.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers = {}
    for name, command in COMMANDS.items():
        # allow_abbrev=False: `--secret` must not be taken as an abbreviation of `--secret-file`.
        sub = commands.add_parser(
            name, help=command.help, description=command.help, allow_abbrev=False
        )
        command.add_arguments(sub)
        subparsers[name] = sub
    return parser, subparsers


def build_parser() -> argparse.ArgumentParser:
    return build_parsers()[0]


def with_default_command(argv: Sequence[str]) -> list[str]:
    """A command line that is empty or starts with a flag (other than --help) means `serve`."""
    argv = list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, DEFAULT_COMMAND)
    return argv


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(with_default_command(argv))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    parser, subparsers = build_parsers()
    args = parser.parse_args(with_default_command(sys.argv[1:] if argv is None else argv))
    try:
        run = COMMANDS[args.command].prepare(args, environ)
    except ValueError as exc:
        subparsers[args.command].error(str(exc))  # exits with code 2
    run()
