"""What each index of `events` costs a group commit on SQLite: pages written and CPU.

Usage: .venv/bin/python benchmarks/index_cost.py [--rows N] [--groups N] [--batches N]

For each events-per-batch size (1 and 50) and each index set (all of them, then each secondary
index left out in turn), a fresh SQLite file at the newest schema is filled with `--rows` events
(2,000 sessions), then `--groups` groups of `--batches` batches are inserted as the collector's
group commit inserts them (`sqlite_store`'s INSERT, one transaction a group). Printed per group:
the pages the group wrote to the WAL (counted from the WAL's size with checkpoints off: the same
on any machine, unlike time) and the median CPU time of the inserting thread. The pages left
over once the table's own pages and the secondary indexes are accounted for are the primary
key's (`event_id`: random ids, as the UUID v4s of older SDK bundles, land each on a page of its
own); the row "time-ordered ids" of each size stores ids that begin with their time instead, as
the SDK's UUID v7s do. Rows are inserted as the store inserts them (`insert_events`: only the
columns some row has a value in, leaving out the rows of erased devices); the row "every column
bound" binds all 28 columns, nulls too, as the store did before, to show what that saves.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from allegro_collector.migrations import migrate_sqlite  # noqa: E402
from allegro_collector.sqlite_store import insert_events  # noqa: E402
from allegro_collector.store import STORED_COLUMNS  # noqa: E402

SECONDARY = ("events_received", "events_session", "events_device")
WAL_FRAME_HEADER = 24
EVERY_COLUMN = f"INSERT OR IGNORE INTO events ({', '.join(STORED_COLUMNS)}) VALUES"
EVERY_PLACEHOLDER = f"({', '.join('?' * len(STORED_COLUMNS))})"


class Filler:
    """Rows shaped like the benchmark's events, of 2,000 sessions, received in order."""

    def __init__(self, seed: int, ordered_ids: bool = False) -> None:
        self.random = random.Random(seed)
        self.ordered_ids = ordered_ids
        self.count = 0
        self.sessions = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(2000)]
        self.now = 1_790_000_000_000
        self.data = STORED_COLUMNS.index("data")
        self.received = STORED_COLUMNS.index("received_at")

    def batches(self, count: int, per_batch: int) -> list[list[object]]:
        rows: list[list[object]] = []
        for _ in range(count):
            device_id, session_id = self.random.choice(self.sessions)
            self.now += 3
            for _ in range(per_batch):
                row: list[object] = [None] * len(STORED_COLUMNS)
                self.count += 1
                event_id = str(uuid.uuid4())
                if self.ordered_ids:  # time first, as in a UUID v7
                    event_id = f"{self.count:012x}{event_id[12:]}"
                row[:5] = [event_id, "page_view", self.now, device_id, session_id]
                row[6] = "http://127.0.0.1:8000/article/1"
                row[8] = "An article"
                row[self.data] = '{"price":9.99,"tags":["a","b"]}'
                row[self.received] = self.now
                rows.append(row)
        return rows


def insert_group(
    db: sqlite3.Connection, rows: Sequence[Sequence[object]], every_column: bool = False
) -> None:
    db.execute("BEGIN IMMEDIATE")
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        if every_column:
            values = ", ".join([EVERY_PLACEHOLDER] * len(chunk))
            db.execute(f"{EVERY_COLUMN} {values}", [value for row in chunk for value in row])
        else:
            db.execute(*insert_events(chunk, erased_after=0))  # as the store: no erasure
    db.execute("COMMIT")


def measure(
    tmp: Path,
    left_out: str | None,
    per_batch: int,
    args: argparse.Namespace,
    ordered: bool,
    every_column: bool,
) -> tuple[float, float]:
    """(WAL pages a group, median CPU ms a group) with `left_out` dropped."""
    path = tmp / f"events-{left_out}-{per_batch}-{ordered}-{every_column}.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # pages are counted, not timed on this disk
        migrate_sqlite(db)
        if left_out is not None:
            db.execute(f"DROP INDEX {left_out}")
        filler = Filler(seed=per_batch, ordered_ids=ordered)
        for _ in range(args.rows // 800):
            insert_group(db, filler.batches(16, 50))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA wal_autocheckpoint=0")
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        cpu: list[float] = []
        for _ in range(args.groups):
            rows = filler.batches(args.batches, per_batch)
            started = time.thread_time()
            insert_group(db, rows, every_column)
            cpu.append(time.thread_time() - started)
        wal_bytes = os.path.getsize(f"{path}-wal")
    finally:
        db.close()
        path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    pages = wal_bytes / (page_size + WAL_FRAME_HEADER) / args.groups
    return pages, statistics.median(cpu) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=300_000, help="events stored first")
    parser.add_argument("--groups", type=int, default=40, help="groups measured")
    parser.add_argument("--batches", type=int, default=16, help="batches a group")
    args = parser.parse_args(argv)
    print(f"{args.rows:,} rows stored first; groups of {args.batches} batches; ", end="")
    print(f"load average (1 min) {os.getloadavg()[0]:.2f}, shared machine\n")
    print("| events/batch | index left out | WAL pages/group | CPU ms/group |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="allegro-index-cost-") as tmp:
        for per_batch in (1, 50):
            variants = [
                (None, False, False),
                *((index, False, False) for index in SECONDARY),
                (None, True, False),
                (None, False, True),
            ]
            for left_out, ordered, every_column in variants:
                pages, cpu_ms = measure(Path(tmp), left_out, per_batch, args, ordered, every_column)
                name = left_out or "(none)"
                name += ", time-ordered ids" if ordered else ""
                name += ", every column bound" if every_column else ""
                print(f"| {per_batch} | {name} | {pages:,.1f} | {cpu_ms:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
