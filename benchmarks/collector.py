"""How many events the collector takes in, next to what the same requests cost with no work at all.

Usage: .venv/bin/python benchmarks/collector.py [--rounds N] [--seconds S] [--targets a,b,...]
       [--overload-clients 8,16,...] [--json FILE] [--baseline DIR]

Targets, each a uvicorn server process on a free 127.0.0.1 port, all started before the first
measurement and kept running to the end (idle ones cost nothing):

- bare: a raw ASGI app that reads the body and answers a fixed JSON (benchmarks/noop_apps.py);
- starlette: one Starlette route that `await request.json()`s the body and answers its event ids;
- sqlite: the collector as `allegro-collector` runs it, on a temporary SQLite file (WAL,
  synchronous=FULL, acknowledged after commit);
- sqlite-base (with `--baseline DIR`): the same, its code imported from DIR, e.g. another commit
  unpacked by `git archive BASE allegro_collector allegro_sdk | tar -x -C DIR`, to measure a
  change beside the code before it in the same rounds;
- pg1 / pg2: the collector on PostgreSQL, one and two worker processes on one port, on a
  throwaway cluster (tests/pg_cluster.py; fsync on);
- pg1-base (with `--baseline DIR` and pg1 among the targets): pg1 with its code from DIR.

Load comes from wrk (Debian's `wrk`): `-t2 -c16` for `--seconds` per measurement, every request a
valid batch of 1 or 50 events (the shape of tests/collector/support.py's make_event; event ids
UUID v7 with the time of the request first, as the SDK makes them) with a real CSRF token of one
of 64 sessions made on that collector beforehand (the baselines get the same ids with a 4 for
the version: code before this protocol took only v4). Measurements alternate between targets,
round after round, so drift on the shared machine hits all alike; the figures are medians over
the rounds with [min-max], and each target's ratio to the Starlette no-op of the same round.
Also the server's CPU time (user + system, its uvicorn process and its workers, from /proc; not
PostgreSQL's) per answered request: on a shared machine it moves far less than req/s, which
waits for cores the other processes hold.

Overload step (after the rounds): the SQLite collector with 1 event per request at rising client
counts (`--overload-clients`); every wrk connection sends its next request the moment it has an
answer, so a refused client retries at once. Goodput counts only 200s.

At the end, for every collector target, the ids of every acknowledged event (each 200's `accepted`,
written by wrk's Lua script) are looked up in that collector's database: each must be stored
exactly once, else the script fails. Printed with the commit and the load average (1 minute) at
the start and the end: the machine is shared, so absolute figures move; the ratios move less.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
ADMIN_KEY = "bench-admin-key-" + secrets.token_hex(8)
SECRET = "bench-secret-" + secrets.token_hex(16)
SESSIONS = 64
START_TIMEOUT_SECONDS = 60
ALL_TARGETS = ("bare", "starlette", "sqlite", "pg1", "pg2")
COLLECTORS = ("sqlite", "sqlite-base", "pg1", "pg2", "pg1-base")
# `--baseline DIR`: the SQLite collector once more, its code imported from DIR (an export of
# another commit's allegro_collector and allegro_sdk), measured in the same rounds.
BASELINE = "sqlite-base"
# With `--baseline DIR` and pg1 among the targets: the PostgreSQL collector (one worker) too.
PG_BASELINE = "pg1-base"
BASELINES = (BASELINE, PG_BASELINE)

LUA = r"""
-- One valid events batch per request. Event ids are UUID v7 as the SDK makes them: the time
-- in milliseconds first; after it, instead of random bits, (thread, seed, counter), which
-- keeps them unique. BENCH_ID_VERSION=4 writes a 4 in place of the 7 (for --baseline code
-- that takes only v4 ids), nothing else changed.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock_now = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(0, clock_now)  -- CLOCK_REALTIME
  return tonumber(clock_now.tv_sec) * 1000 + math.floor(tonumber(clock_now.tv_nsec) / 1e6)
end

local next_tid = 1
local threads = {}
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local EVENT = '{"event_id":"%s","event_name":"page_view","timestamp":1790000000000,' ..
  '"device_id":"%s","session_id":"%s","customer_id":null,' ..
  '"url":"http://127.0.0.1:8000/article/1","page_title":"An article",' ..
  '"data":{"price":9.99,"tags":["a","b"]}}'

function init(args)
  sessions = {}
  local f = assert(io.open(os.getenv("BENCH_SESSIONS")))
  for line in f:lines() do
    local sid, did, tok = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    table.insert(sessions, {sid, did, tok})
  end
  f:close()
  per_request = tonumber(os.getenv("BENCH_EVENTS"))
  seed = tonumber(os.getenv("BENCH_SEED"))
  version = os.getenv("BENCH_ID_VERSION")
  counter = 0
  statuses = {}
  out = assert(io.open(os.getenv("BENCH_ACKED") .. "." .. tid, "w"))
end

function request()
  local s = sessions[(counter % #sessions) + 1]
  local parts = {}
  local ms = now_ms()
  local stamp = string.format("%08x-%04x", math.floor(ms / 65536), ms % 65536)
  for i = 1, per_request do
    counter = counter + 1
    local id = string.format("%s-%s%03x-%04x-%012x",
      stamp, version, tid % 4096, 0x8000 + seed % 0x4000, counter)
    parts[i] = string.format(EVENT, id, s[2], s[1])
  end
  return wrk.format("POST", "/v1/events",
    {["Content-Type"] = "application/json", ["X-Allegro-CSRF"] = s[3]},
    '{"events":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 then out:write(body, "\n") end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for key, count in pairs(counts) do merged[key] = (merged[key] or 0) + count end
  end
  local parts = {}
  for key, count in pairs(merged) do table.insert(parts, string.format('"%s":%d', key, count)) end
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"p50_us":%d,"p99_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"statuses":{%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(99),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ",")))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Target:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    db: str | None = None  # a SQLite path or a PostgreSQL DSN; None for the no-ops
    sessions_file: Path | None = None
    acked_files: list[Path] = field(default_factory=list)


@dataclass
class Result:
    target: str
    events_per_request: int
    clients: int
    seconds: float
    ok: int
    statuses: dict[str, int]
    errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    cpu_seconds: float = 0.0  # the server's processes, user + system, during the run

    @property
    def cpu_us_per_request(self) -> float:
        """CPU an answered request: it moves far less with the machine's load than req/s."""
        return self.cpu_seconds / max(1, sum(self.statuses.values())) * 1e6

    @property
    def req_per_s(self) -> float:
        return self.ok / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.ok * self.events_per_request / self.seconds


def start_target(name: str, tmp: Path, pg_dsn: str | None, baseline: Path | None = None) -> Target:
    port = free_port()
    env = {**os.environ, "ALLEGRO_SECRET": SECRET, "ALLEGRO_ADMIN_KEY": ADMIN_KEY}
    if name in BASELINES:
        assert baseline is not None
        env["PYTHONPATH"] = str(baseline)
    db: str | None = None
    if name in ("bare", "starlette"):
        app = "noop_apps:bare" if name == "bare" else "noop_apps:starlette_noop"
        command = [
            str(VENV_BIN / "uvicorn"), app, "--app-dir", str(ROOT / "benchmarks"),
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level",
            "warning",
        ]  # fmt: skip
    else:
        if name in ("sqlite", BASELINE):
            db = str(tmp / f"{name}.sqlite3")
            extra: list[str] = []
        else:
            if pg_dsn is None:
                raise RuntimeError("PostgreSQL targets need the cluster")
            db = pg_dsn
            extra = ["--workers", "2" if name == "pg2" else "1"]
        command = [
            str(VENV_BIN / "allegro-collector"), "--host", "127.0.0.1", "--port", str(port),
            "--db", db, *extra,
        ]  # fmt: skip
    log = (tmp / f"{name}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    target = Target(name=name, url=f"http://127.0.0.1:{port}", process=process, db=db)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {(tmp / f'{name}.log').read_text()[-2000:]}")
        try:
            http("GET", target.url + "/healthz")
            break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.1)
    target.sessions_file = tmp / f"{name}.sessions"
    lines = []
    for _ in range(SESSIONS):
        device_id = str(uuid.uuid4())
        if name in COLLECTORS:
            answer = http("POST", target.url + "/v1/sessions", {"device_id": device_id})
            lines.append(f"{answer['session_id']}\t{device_id}\t{answer['csrf_token']}")
        else:
            lines.append(f"{uuid.uuid4()}\t{device_id}\tno-token")
    target.sessions_file.write_text("\n".join(lines) + "\n")
    return target


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` and of its children (uvicorn's workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0  # the process is gone
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children)


def run_wrk(
    target: Target, events: int, clients: int, seconds: float, lua: Path, tmp: Path
) -> Result:
    assert target.sessions_file is not None
    seed = secrets.randbelow(2**31)
    acked = tmp / f"acked-{target.name}-{seed:08x}"
    env = {
        **os.environ,
        "BENCH_SESSIONS": str(target.sessions_file),
        "BENCH_EVENTS": str(events),
        "BENCH_SEED": str(seed),
        "BENCH_ACKED": str(acked),
        "BENCH_ID_VERSION": "4" if target.name in BASELINES else "7",
    }
    threads = min(2, clients)
    cpu_before = cpu_seconds(target.process.pid)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s", "-s",
         str(lua), target.url],
        env=env, capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    if output.returncode != 0 or "BENCH_RESULT " not in output.stdout:
        raise RuntimeError(f"wrk failed: {output.stdout[-2000:]} {output.stderr[-2000:]}")
    cpu = cpu_seconds(target.process.pid) - cpu_before
    line = next(line for line in output.stdout.splitlines() if line.startswith("BENCH_RESULT "))
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    target.acked_files.extend(tmp.glob(acked.name + ".*"))
    return Result(
        target=target.name,
        events_per_request=events,
        clients=clients,
        seconds=data["duration_us"] / 1e6,
        ok=data["statuses"].get("200", 0),
        statuses=data["statuses"],
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        cpu_seconds=cpu,
    )


def acknowledged_ids(target: Target) -> list[str]:
    ids: list[str] = []
    for path in target.acked_files:
        for line in path.read_text().splitlines():
            ids.extend(json.loads(line)["accepted"])
    return ids


def _pg_counts(dsn: str, ids: list[str]) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(dsn) as connection:
        found = connection.execute(
            "SELECT count(*) FROM events WHERE event_id = ANY(%s::text[])", (ids,)
        ).fetchone()
        total = connection.execute("SELECT count(*) FROM events").fetchone()
    assert found is not None and total is not None
    return int(found[0]), int(total[0])


def verify_stored(target: Target) -> str:
    """Every acknowledged id is stored, once (the primary key forbids twice)."""
    ids = acknowledged_ids(target)
    if len(set(ids)) != len(ids):
        raise AssertionError(f"{target.name}: an event id was acknowledged twice")
    assert target.db is not None
    if target.name in ("sqlite", BASELINE):
        with sqlite3.connect(target.db) as db:
            db.execute("CREATE TEMP TABLE acked (event_id TEXT PRIMARY KEY)")
            db.executemany("INSERT INTO acked VALUES (?)", ((i,) for i in ids))
            found = db.execute(
                "SELECT count(*) FROM events JOIN acked USING (event_id)"
            ).fetchone()[0]
            total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    else:
        found, total = _pg_counts(target.db, ids)
    if found != len(ids):
        raise AssertionError(
            f"{target.name}: {len(ids)} events acknowledged, only {found} of them stored"
        )
    return f"{target.name}: {len(ids)} acknowledged events, each stored once ({total} rows)"


def summary(values: Sequence[float], decimals: int = 0) -> str:
    return (
        f"{statistics.median(values):,.{decimals}f} "
        f"[{min(values):,.{decimals}f}-{max(values):,.{decimals}f}]"
    )


def report(results: list[Result], targets: Sequence[str], events_sizes: Sequence[int]) -> str:
    lines = [
        "| target | events/request | req/s | events/s | ratio to starlette (req/s) "
        "| p50 ms | p99 ms | CPU us/request | non-200 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for events in events_sizes:
        base = [r for r in results if r.target == "starlette" and r.events_per_request == events]
        for name in targets:
            mine = [r for r in results if r.target == name and r.events_per_request == events]
            if not mine:
                continue
            ratios = (
                [m.req_per_s / b.req_per_s for m, b in zip(mine, base, strict=False)]
                if base
                else []
            )
            non_ok = sum(sum(r.statuses.values()) - r.ok for r in mine) + sum(
                sum(r.errors.values()) for r in mine
            )
            lines.append(
                f"| {name} | {events} | {summary([r.req_per_s for r in mine])} "
                f"| {summary([r.events_per_s for r in mine])} "
                f"| {summary(ratios, 2) if ratios else '-'} "
                f"| {summary([r.p50_ms for r in mine], 1)} "
                f"| {summary([r.p99_ms for r in mine], 1)} "
                f"| {summary([r.cpu_us_per_request for r in mine])} | {non_ok} |"
            )
    return "\n".join(lines)


@contextmanager
def postgres(needed: bool) -> Iterator[Any]:
    if not needed:
        yield None
        return
    from tests.pg_cluster import PostgresCluster

    with PostgresCluster.start() as cluster:
        yield cluster


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=4, help="per wrk run (default 4)")
    parser.add_argument("--clients", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument(
        "--targets", default=",".join(ALL_TARGETS), help=f"default {','.join(ALL_TARGETS)}"
    )
    parser.add_argument(
        "--overload-clients",
        default="8,16,32,64,128",
        help="client counts of the overload step on sqlite; empty to skip (default 8,...,128)",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help=f"also measure target {BASELINE} (and {PG_BASELINE} with pg1): the collector with "
        "its code imported from this directory (e.g. `git archive BASE allegro_collector "
        "allegro_sdk` unpacked)",
    )
    args = parser.parse_args(argv)
    args.targets = [name for name in args.targets.split(",") if name]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    args.overload_clients = [int(n) for n in args.overload_clients.split(",") if n]
    if args.baseline is not None:
        if not (args.baseline / "allegro_collector").is_dir():
            parser.error(f"--baseline {args.baseline}: no allegro_collector in it")
        args.targets.append(BASELINE)
        if "pg1" in args.targets:
            args.targets.append(PG_BASELINE)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load_before = os.getloadavg()
    results: list[Result] = []
    overload: list[Result] = []
    checks: list[str] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="allegro-bench-")))
        lua = tmp / "events.lua"
        lua.write_text(LUA)
        cluster = stack.enter_context(postgres(any(t.startswith("pg") for t in args.targets)))
        targets: dict[str, Target] = {}
        try:
            for name in args.targets:
                dsn = None
                if name.startswith("pg"):
                    dsn = cluster.create_database(f"bench_{name.replace('-', '_')}")
                targets[name] = start_target(name, tmp, dsn, args.baseline)
                print(f"started {name} at {targets[name].url}", file=sys.stderr)
            for round_number in range(args.rounds):
                for events in (1, 50):
                    for name in args.targets:
                        target = targets[name]
                        result = run_wrk(target, events, args.clients, args.seconds, lua, tmp)
                        results.append(result)
                        print(
                            f"round {round_number + 1} {name} x{events}: "
                            f"{result.req_per_s:,.0f} req/s, p99 {result.p99_ms:.1f} ms, "
                            f"statuses {result.statuses} errors {result.errors}",
                            file=sys.stderr,
                        )
            if "sqlite" in targets:
                for clients in args.overload_clients:
                    result = run_wrk(targets["sqlite"], 1, clients, args.seconds, lua, tmp)
                    overload.append(result)
                    print(
                        f"overload {clients} clients: {result.req_per_s:,.0f} good req/s, "
                        f"statuses {result.statuses} errors {result.errors}",
                        file=sys.stderr,
                    )
            for name in args.targets:
                if name in COLLECTORS:
                    checks.append(verify_stored(targets[name]))
        finally:
            for target in targets.values():
                target.process.terminate()
            for target in targets.values():
                try:
                    target.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    target.process.kill()
    load_after = os.getloadavg()
    print(f"\ncommit {commit}, {os.cpu_count()} CPUs, shared machine")
    print(
        f"load average (1/5/15 min): before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(
        f"wrk -t2 -c{args.clients} -d{args.seconds:g}s, {args.rounds} alternating rounds, "
        "median [min-max]\n"
    )
    print(report(results, args.targets, (1, 50)))
    if overload:
        peak = max(overload, key=lambda r: r.req_per_s)
        print("\noverload, sqlite, 1 event per request (goodput = 200s only):\n")
        print("| clients | good req/s | of peak | 503s | p99 ms |")
        print("|---|---|---|---|---|")
        for r in overload:
            print(
                f"| {r.clients} | {r.req_per_s:,.0f} | {r.req_per_s / peak.req_per_s:.2f} "
                f"| {r.statuses.get('503', 0)} | {r.p99_ms:.1f} |"
            )
    print()
    for line in checks:
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "commit": commit,
                    "load_before": load_before,
                    "load_after": load_after,
                    "results": [r.__dict__ for r in results],
                    "overload": [r.__dict__ for r in overload],
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
