from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from allegro_collector.cli import build_parser, build_settings
from allegro_collector.tokens import SigningKey

from .support import ALLOWED_ORIGIN


def test_flags() -> None:
    settings = build_settings(
        build_parser().parse_args(
            [
                "--db", "x.sqlite3",
                "--allow-origin", ALLOWED_ORIGIN,
                "--allow-origin", "https://example.com",
                "--admin-key", "k",
                "--secret", "s1",
                "--previous-secret", "s0",
            ]
        ),
        {},
    )  # fmt: skip
    assert settings.db_path == Path("x.sqlite3")
    assert settings.allowed_origins == (ALLOWED_ORIGIN, "https://example.com")
    assert settings.admin_key == "k"
    assert settings.signing_key == SigningKey.from_secret("s1")
    assert settings.previous_signing_key == SigningKey.from_secret("s0")


def test_ingest_queue_flags() -> None:
    defaults = build_settings(build_parser().parse_args(["--secret", "s"]), {})
    assert (defaults.max_pending_batches, defaults.retry_after_seconds) == (32, 1)
    args = ["--secret", "s", "--max-pending-batches", "5", "--retry-after", "3"]
    flagged = build_settings(build_parser().parse_args(args), {})
    assert (flagged.max_pending_batches, flagged.retry_after_seconds) == (5, 3)


def test_member_flags_and_environment() -> None:
    secret = "m" * 32
    args = ["--secret", "s", "--member-secret", secret, "--member-audience", ALLOWED_ORIGIN]
    flagged = build_settings(build_parser().parse_args(args), {})
    assert (flagged.member_secret, flagged.member_audience) == (secret.encode(), ALLOWED_ORIGIN)
    environ = {"ALLEGRO_MEMBER_SECRET": secret, "ALLEGRO_MEMBER_AUDIENCE": ALLOWED_ORIGIN}
    from_env = build_settings(build_parser().parse_args(["--secret", "s"]), environ)
    assert (from_env.member_secret, from_env.member_audience) == (secret.encode(), ALLOWED_ORIGIN)


def test_half_a_member_configuration_exits_with_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from allegro_collector.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["--secret", "s", "--member-audience", ALLOWED_ORIGIN], environ={})
    assert caught.value.code == 2
    assert "both the identity secret and the audience" in capsys.readouterr().err


def test_zero_pending_batches_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from allegro_collector.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["--max-pending-batches", "0", "--secret", "s"], environ={})
    assert caught.value.code == 2
    assert "pending batches" in capsys.readouterr().err


def test_environment_fills_in_and_flags_win() -> None:
    environ = {
        "ALLEGRO_ADMIN_KEY": "env-key",
        "ALLEGRO_SECRET": "env-secret",
        "ALLEGRO_PREVIOUS_SECRET": "env-old",
    }
    from_env = build_settings(build_parser().parse_args([]), environ)
    assert from_env.admin_key == "env-key"
    assert from_env.signing_key == SigningKey.from_secret("env-secret")
    assert from_env.previous_signing_key == SigningKey.from_secret("env-old")
    flagged = build_settings(build_parser().parse_args(["--secret", "flag"]), environ)
    assert flagged.signing_key == SigningKey.from_secret("flag")


def test_missing_secret_and_admin_key_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="allegro_collector"):
        first = build_settings(build_parser().parse_args([]), {})
        second = build_settings(build_parser().parse_args([]), {})
    assert first.admin_key is None
    assert first.signing_key != second.signing_key  # a random secret each start
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "ALLEGRO_SECRET" in messages and "ALLEGRO_ADMIN_KEY" in messages
    assert "member.login() answers 501" in messages


def test_invalid_configuration_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from allegro_collector.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["--allow-origin", "example.com", "--secret", "s"], environ={})
    assert caught.value.code == 2
    assert "scheme://host" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(command: list[str], env: dict[str, str], port: int) -> Iterator[httpx.Client]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None, process.communicate()[1]
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the collector did not start"
                    time.sleep(0.05)
            yield client
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    # uvicorn shuts down cleanly, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr


def test_console_script_serves_over_http(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("allegro-collector")
    port = free_port()
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "ALLEGRO_ADMIN_KEY": "cli-key", "ALLEGRO_SECRET": "cli-secret"}
    command = [str(script), "--port", str(port), "--db", str(db), "--allow-origin", ALLOWED_ORIGIN]
    with running(command, env, port) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        device = str(uuid.uuid4())
        session = client.post("/v1/sessions", json={"device_id": device}).json()
        event = {
            "event_id": str(uuid.uuid4()),
            "event_name": "page_view",
            "timestamp": 1,
            "device_id": device,
            "session_id": session["session_id"],
        }
        posted = client.post(
            "/v1/events", json={"csrf_token": session["csrf_token"], "events": [event]}
        )
        assert posted.status_code == 200
        stored = client.get("/v1/events", headers={"Authorization": "Bearer cli-key"}).json()
        assert [e["event_id"] for e in stored["events"]] == [event["event_id"]]
    assert db.exists()


def test_python_dash_m_serves_healthz(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "allegro_collector", "--port", str(port)]
    command += ["--db", str(tmp_path / "m.sqlite3")]
    with running(command, dict(os.environ), port) as client:
        assert client.get("/healthz").status_code == 200
