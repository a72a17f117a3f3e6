"""`allegro-member-token`: mint a member token from a shell, for trying login or for scripts.

A site's backend calls `mint_member_token` directly; this command is the same function.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from allegro_collector.member_tokens import (
    DEFAULT_LIFETIME_SECONDS,
    MAX_LIFETIME_SECONDS,
    mint_member_token,
)

SECRET_VARIABLE = "ALLEGRO_MEMBER_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="allegro-member-token",
        description="Print an HS256 member token for allegro.member.login(). The identity "
        f"secret is read from ${SECRET_VARIABLE}, never from the command line (where other "
        "users of the machine could see it).",
    )
    parser.add_argument("--customer-id", required=True, help="the member's id (the 'sub' claim)")
    parser.add_argument(
        "--audience", required=True, help="the site, as given to the collector's --member-audience"
    )
    parser.add_argument(
        "--lifetime",
        type=int,
        default=DEFAULT_LIFETIME_SECONDS,
        metavar="SECONDS",
        help=f"seconds until it expires (default {DEFAULT_LIFETIME_SECONDS}, "
        f"at most {MAX_LIFETIME_SECONDS})",
    )
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    secret = environ.get(SECRET_VARIABLE)
    if not secret:
        parser.error(f"set {SECRET_VARIABLE} to the identity secret the collector holds")
    try:
        token = mint_member_token(args.customer_id, secret, args.audience, args.lifetime)
    except ValueError as exc:
        parser.error(str(exc))
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
