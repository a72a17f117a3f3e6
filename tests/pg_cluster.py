"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl in a temporary folder.

from pg_cluster import PostgresCluster

with PostgresCluster.start() as cluster:
    dsn = cluster.create_database("events")  # postgresql://allegro@/events?host=/tmp/...
    dsn = cluster.create_schema("events", "test_1")  # ...&options=-csearch_path%3Dtest_1
    ...

The server listens only on a Unix socket inside the temporary folder (no TCP port, so parallel
runs never collide), trusts local connections (nothing but the folder's owner and root can
reach the socket), keeps `fsync` on (acknowledged means durable, as in production) and is
stopped and deleted at the end. PostgreSQL refuses to run as root, and tests run as root on CI:
then initdb and the server run as the unprivileged `nobody`, and the folder belongs to it.

The server binaries come from Debian's `postgresql` package (`make system-deps` installs it):
the newest /usr/lib/postgresql/*/bin, or initdb on PATH.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "allegro"
UNPRIVILEGED = "nobody"
START_TIMEOUT_SECONDS = 60
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def server_bin_dir() -> Path:
    """The folder holding initdb, pg_ctl and createdb; a clear error when none is installed."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: (
            int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "PostgreSQL's server binaries (initdb) are not installed: run `make system-deps` "
        "(it installs Debian's postgresql package)"
    )


@dataclass
class PostgresCluster:
    folder: Path
    bin_dir: Path
    run_as: str | None  # an OS user to run the server as (when we are root), else None

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def _run(self, *command: str | Path) -> None:
        subprocess.run(
            [str(part) for part in command],
            check=True,
            capture_output=True,
            text=True,
            user=self.run_as,
            group=None if self.run_as is None else pwd.getpwnam(self.run_as).pw_gid,
            extra_groups=None if self.run_as is None else [],
            timeout=START_TIMEOUT_SECONDS,
        )

    def create_database(self, name: str) -> str:
        """Create an empty database and return its DSN."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain database name")
        self._run(self.bin_dir / "createdb", "-h", self.socket_dir, "-U", SUPERUSER, name)
        return self.dsn(name)

    def create_schema(self, database: str, name: str) -> str:
        """An empty schema in `database`, and a DSN whose connections use it (`search_path`).

        Far cheaper than a database per test: no copy of the template database.
        """
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain schema name")
        with psycopg.connect(self.dsn(database), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {name}".encode())
        return f"{self.dsn(database)}&options=-csearch_path%3D{name}"

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[PostgresCluster]:
        bin_dir = server_bin_dir()
        run_as = UNPRIVILEGED if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="allegro-pg-"))
        try:
            if run_as is not None:
                user = pwd.getpwnam(run_as)
                os.chown(folder, user.pw_uid, user.pw_gid)
            cluster = cls(folder=folder, bin_dir=bin_dir, run_as=run_as)
            data = folder / "data"
            cluster._run(
                bin_dir / "initdb",
                "-D",
                data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a throwaway cluster: the data folder needs no fsync at creation
            )
            options = f"-k {folder} -c listen_addresses='' -c max_connections=200"
            cluster._run(
                bin_dir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-o", options, "-w",
                "start",
            )  # fmt: skip
            try:
                yield cluster
            finally:
                cluster._run(bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
