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

from allegro_collector.cli import build_settings, main, parse_args
from allegro_collector.settings import DAY_MS, Settings, SigningKey

from .support import ALLOWED_ORIGIN


def settings_from(argv: list[str], environ: dict[str, str]) -> Settings:
    return build_settings(parse_args(argv), environ)


def secret_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_flags_and_secret_files(tmp_path: Path) -> None:
    settings = settings_from(
        [
            "serve",
            "--db", "x.sqlite3",
            "--allow-origin", ALLOWED_ORIGIN,
            "--allow-origin", "https://example.com",
            "--admin-key-file", secret_file(tmp_path, "admin", "k\n"),
            "--secret-file", secret_file(tmp_path, "secret", "s1\r\n"),
            "--previous-secret-file", secret_file(tmp_path, "previous", "s0"),
        ],
        {},
    )  # fmt: skip
    assert settings.db_path == Path("x.sqlite3")
    assert settings.allowed_origins == (ALLOWED_ORIGIN, "https://example.com")
    assert settings.admin_key == "k"  # a file's trailing line break is not part of the secret
    assert settings.signing_key == SigningKey.from_secret("s1")
    assert settings.previous_signing_key == SigningKey.from_secret("s0")


def test_serve_is_the_default_command() -> None:
    environ = {"ALLEGRO_SECRET": "s"}
    explicit = settings_from(["serve", "--db", "a.sqlite3", "--retry-after", "2"], environ)
    implicit = settings_from(["--db", "a.sqlite3", "--retry-after", "2"], environ)
    assert explicit == implicit
    assert parse_args([]).command == "serve"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"], environ={})
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "serve" in out and "never from the command line" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sevre"], environ={})
    assert caught.value.code == 2
    assert "invalid choice: 'sevre'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "variable"),
    [
        ("--secret", "ALLEGRO_SECRET"),
        ("--previous-secret", "ALLEGRO_PREVIOUS_SECRET"),
        ("--admin-key", "ALLEGRO_ADMIN_KEY"),
        ("--member-secret", "ALLEGRO_MEMBER_SECRET"),
    ],
)
@pytest.mark.parametrize("form", ["separate", "joined"])
def test_a_secret_on_the_command_line_is_refused(
    flag: str, variable: str, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [f"{flag}={'x' * 32}"] if form == "joined" else [flag, "x" * 32]
    with pytest.raises(SystemExit) as caught:
        main(["serve", *argv], environ={})
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"{flag} is not accepted" in err
    assert variable in err and f"{flag}-file PATH" in err
    assert "x" * 32 not in err  # the refusal does not repeat the secret either


def test_secret_file_problems_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing")
    empty = secret_file(tmp_path, "empty", "\n")
    given_twice = secret_file(tmp_path, "key", "k")
    cases = [
        (["--secret-file", missing], {}, f"--secret-file: cannot read {missing}"),
        (["--admin-key-file", empty], {}, f"--admin-key-file: {empty} is empty"),
        (
            ["--admin-key-file", given_twice],
            {"ALLEGRO_ADMIN_KEY": "k"},
            "ALLEGRO_ADMIN_KEY and --admin-key-file are both given",
        ),
    ]
    for argv, environ, message in cases:
        with pytest.raises(SystemExit) as caught:
            main(["serve", *argv], environ=environ)
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "usage: allegro-collector serve" in err


def test_ingest_queue_flags() -> None:
    environ = {"ALLEGRO_SECRET": "s"}
    defaults = settings_from([], environ)
    assert (defaults.max_pending_batches, defaults.retry_after_seconds) == (32, 1)
    flagged = settings_from(["--max-pending-batches", "5", "--retry-after", "3"], environ)
    assert (flagged.max_pending_batches, flagged.retry_after_seconds) == (5, 3)
    assert defaults.busy_hold_seconds == 1
    assert settings_from(["--busy-hold", "0.5"], environ).busy_hold_seconds == 0.5


def test_retention_and_erasure_window_flags(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"ALLEGRO_SECRET": "s"}
    defaults = settings_from([], environ)
    assert (defaults.event_retention_ms, defaults.erasure_window_ms) == (None, 7 * DAY_MS)
    flagged = settings_from(["--retention-days", "90", "--erasure-window-days", "30"], environ)
    assert (flagged.event_retention_ms, flagged.erasure_window_ms) == (90 * DAY_MS, 30 * DAY_MS)
    for argv, message in (
        (["--retention-days", "0"], "--retention-days must be at least 1"),
        (["--erasure-window-days", "-1"], "--erasure-window-days must not be negative"),
    ):
        with pytest.raises(SystemExit) as caught:
            main(argv, environ=environ)
        assert caught.value.code == 2
        assert message in capsys.readouterr().err


def test_db_takes_a_sqlite_file_or_a_postgresql_url() -> None:
    environ = {"ALLEGRO_SECRET": "s"}
    sqlite = settings_from(["--db", "x.sqlite3"], environ)
    assert (sqlite.db_path, sqlite.postgres_url) == (Path("x.sqlite3"), None)
    url = "postgresql://collector@db.internal/events"
    assert settings_from(["--db", url], environ).postgres_url == url


def test_member_secret_from_file_or_environment(tmp_path: Path) -> None:
    secret = "m" * 32
    path = secret_file(tmp_path, "member", secret + "\n")
    from_file = settings_from(
        ["--member-secret-file", path, "--member-audience", ALLOWED_ORIGIN], {}
    )
    assert (from_file.member_secret, from_file.member_audience) == (secret.encode(), ALLOWED_ORIGIN)
    environ = {"ALLEGRO_MEMBER_SECRET": secret, "ALLEGRO_MEMBER_AUDIENCE": ALLOWED_ORIGIN}
    from_env = settings_from([], environ)
    assert (from_env.member_secret, from_env.member_audience) == (secret.encode(), ALLOWED_ORIGIN)


def test_half_a_member_configuration_exits_with_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--member-audience", ALLOWED_ORIGIN], environ={"ALLEGRO_SECRET": "s"})
    assert caught.value.code == 2
    assert "both the identity secret and the audience" in capsys.readouterr().err


def test_zero_pending_batches_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--max-pending-batches", "0"], environ={"ALLEGRO_SECRET": "s"})
    assert caught.value.code == 2
    assert "pending batches" in capsys.readouterr().err


def test_environment_gives_the_secrets() -> None:
    environ = {
        "ALLEGRO_ADMIN_KEY": "env-key",
        "ALLEGRO_SECRET": "env-secret",
        "ALLEGRO_PREVIOUS_SECRET": "env-old",
    }
    from_env = settings_from([], environ)
    assert from_env.admin_key == "env-key"
    assert from_env.signing_key == SigningKey.from_secret("env-secret")
    assert from_env.previous_signing_key == SigningKey.from_secret("env-old")


def test_missing_secret_and_admin_key_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="allegro_collector"):
        first = settings_from([], {})
        second = settings_from([], {})
    assert first.admin_key is None
    assert first.signing_key != second.signing_key  # a random secret each start
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "ALLEGRO_SECRET" in messages and "ALLEGRO_ADMIN_KEY" in messages
    assert "member.login() answers 501" in messages


def test_invalid_configuration_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--allow-origin", "example.com"], environ={"ALLEGRO_SECRET": "s"})
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
    env = {**os.environ, "ALLEGRO_SECRET": "cli-secret"}
    env.pop("ALLEGRO_ADMIN_KEY", None)
    key_file = secret_file(tmp_path, "admin-key", "cli-key\n")
    command = [str(script), "serve", "--port", str(port), "--db", str(db)]
    command += ["--allow-origin", ALLOWED_ORIGIN, "--admin-key-file", key_file]
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


def test_python_dash_m_serves_healthz_without_a_command(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "allegro_collector", "--port", str(port)]
    command += ["--db", str(tmp_path / "m.sqlite3")]
    with running(command, dict(os.environ), port) as client:
        assert client.get("/healthz").status_code == 200
