"""A collector in a process of its own, for faults that are process-wide: a file size limit
(a full disk), another user (a read-only file), a small open-file limit.

    python -m tests.collector.collector_process DB PORT [SETTING=VALUE ...]

serves `create_app(make_settings(DB, ...))` on 127.0.0.1:PORT with the production serving
options and log limits; SETTING=VALUE pairs override Settings fields (ints and floats as such).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from allegro_collector.app import create_app
from allegro_collector.connection_guards import install_log_limits, uvicorn_options
from tests.collector.support import make_settings


def _value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main(argv: list[str]) -> None:
    db, port, *pairs = argv
    overrides = {key: _value(value) for key, _, value in (pair.partition("=") for pair in pairs)}
    settings = make_settings(Path(db), **overrides)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_log_limits()
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=int(port),
        log_config=None,
        access_log=False,
        **uvicorn_options(settings),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
