"""Running the collector under uvicorn: one process, or `workers` processes on one port.

Every process serves with the connection guards of `connection_guards` (the head deadline, the
connection cap, the once-per-interval log of running out of descriptors), and an access log
(`--access-log`) without client addresses (`log_privacy`).

With several workers uvicorn starts each process afresh (it imports `worker_app`, and the
guarded protocol by name, `worker_h11`), so the settings travel to them in the environment
variable `ALLEGRO_WORKER_SETTINGS` (JSON, secrets included: a process's environment is readable
only by its own user, unlike its command line). They are made once, in the parent: a random
token secret is then shared by all the workers.

Several workers need PostgreSQL. SQLite takes one writer at a time for the whole file, so a
second writing process would only queue for that lock (and could not share the group commit);
with SQLite the collector stays one process and its one writer batches for everyone.
Per-process: the ingest queue bound (`--max-pending-batches`), the connection cap
(`--max-connections`) and the session rate limits are counted in each worker.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from allegro_collector import log_privacy
from allegro_collector.app import create_app
from allegro_collector.connection_guards import (
    default_max_connections,
    guarded_h11,
    install_log_limits,
    uvicorn_options,
)
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey

WORKER_SETTINGS = "ALLEGRO_WORKER_SETTINGS"
MULTIPROCESS_METRICS = "PROMETHEUS_MULTIPROC_DIR"
# What a worker's uvicorn imports for its protocol class (see `__getattr__`).
WORKER_PROTOCOL = "allegro_collector.serving:worker_h11"
GC_YOUNGEST_THRESHOLD = 20_000  # Python's default: 700 (see `settle_garbage_collector`)


def settings_to_json(settings: Settings) -> str:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, SigningKey):
            value = value.secret.decode()
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, tuple):
            value = list(value)
        values[field.name] = value
    return json.dumps(values)


def settings_from_json(text: str) -> Settings:
    values: dict[str, Any] = json.loads(text)
    for name in ("signing_key", "previous_signing_key"):
        if values[name] is not None:
            values[name] = SigningKey.from_secret(values[name])
    values["db_path"] = Path(values["db_path"])
    values["allowed_origins"] = tuple(values["allowed_origins"])
    values["trusted_proxies"] = tuple(values["trusted_proxies"])
    if values["member_secret"] is not None:
        values["member_secret"] = values["member_secret"].encode()
    return Settings(**values)


@functools.cache
def _worker_settings() -> Settings:
    return settings_from_json(os.environ[WORKER_SETTINGS])


def worker_app() -> ASGIApp:
    """The app of one worker process (uvicorn's factory): settings from the environment."""
    install_log_limits()
    log_privacy.install()
    app = create_app(_worker_settings())
    settle_garbage_collector()
    return app


def __getattr__(name: str) -> Any:
    """`worker_h11`: the guarded protocol class of a worker process, made from its settings
    (uvicorn pickles its options to the workers, and a class made at run time does not
    pickle, so a worker imports it by name instead)."""
    if name == "worker_h11":
        settings = _worker_settings()
        return guarded_h11(
            settings.head_timeout_seconds,
            settings.max_connections or default_max_connections(),
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def settle_garbage_collector() -> None:
    """Leave what the process made to start (modules, the app) out of every garbage collection,
    and collect the youngest objects less often.

    A request makes a few hundred short-lived objects (decoded events, rows, futures); with
    Python's defaults a collection ran every 700 of them, and the older generations' ones
    walked every object the process had made at start: 7% of a collector's CPU under load
    (perf, 50 events a request; docs/scaling.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])


def check_workers(settings: Settings, workers: int) -> None:
    """Raise ValueError unless `workers` processes can serve these settings."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if workers > 1 and settings.postgres_url is None:
        raise ValueError(
            "--workers above 1 needs --db postgresql://...: SQLite has one writer at a time"
        )


def serve(settings: Settings, host: str, port: int, *, workers: int, access_log: bool) -> None:
    check_workers(settings, workers)
    install_log_limits()
    log_privacy.install()
    options = uvicorn_options(settings)
    if workers == 1:
        app = create_app(settings)
        settle_garbage_collector()
        uvicorn.run(app, host=host, port=port, access_log=access_log, **options)
        return
    os.environ[WORKER_SETTINGS] = settings_to_json(settings)
    with tempfile.TemporaryDirectory(prefix="allegro-metrics-") as metrics_dir:
        # Every worker writes its counters there; a scrape of any one of them sums them all.
        os.environ.setdefault(MULTIPROCESS_METRICS, metrics_dir)
        uvicorn.run(
            "allegro_collector.serving:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            **{**options, "http": WORKER_PROTOCOL},
        )
