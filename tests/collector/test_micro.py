"""The micro collector: the real collector in memory, with a record of good and bad events."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from allegro_collector.cli import main
from allegro_collector.member_tokens import mint_member_token
from allegro_collector.micro import RunningMicro, is_loopback, running_micro

from .support import make_event
from .test_cli import free_port

MEMBER_SECRET = "micro-tests-member-identity-secret-0123456789"
AUDIENCE = "http://127.0.0.1:8000"


class Micro:
    """A running micro collector, the lines it printed, and an HTTP client."""

    def __init__(self, running: RunningMicro, out: io.StringIO) -> None:
        self.running = running
        self.out = out
        self.client = httpx.Client(base_url=running.url, timeout=10)

    def new_session(self) -> dict[str, Any]:
        device_id = str(uuid.uuid4())
        response = self.client.post("/v1/sessions", json={"device_id": device_id})
        assert response.status_code == 201, response.text
        return {**response.json(), "device_id": device_id}

    def post(self, session: dict[str, Any], events: list[Any], token: str = "") -> httpx.Response:
        csrf = token or session["csrf_token"]
        return self.client.post(
            "/v1/events", json={"events": events}, headers={"X-Allegro-CSRF": csrf}
        )

    def good(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.client.get("/micro/good").json()["events"]
        return events

    def bad(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.client.get("/micro/bad").json()["events"]
        return events

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


@pytest.fixture
def micro() -> Iterator[Micro]:
    out = io.StringIO()
    with running_micro(out=out) as running:
        handle = Micro(running, out)
        yield handle
        handle.client.close()


def test_a_stored_event_is_good_as_stored_and_printed_on_one_line(micro: Micro) -> None:
    session = micro.new_session()
    event = make_event(session, event_name="purchase", data={"price": 9.99, "currency": "EUR"})
    answer = micro.post(session, [event])
    assert answer.status_code == 200
    assert answer.json()["accepted"] == [event["event_id"]]
    (good,) = micro.good()  # in the record as soon as the answer has arrived
    assert good["event_id"] == event["event_id"]
    assert good["data"] == {"price": 9.99, "currency": "EUR"}
    assert good["customer_id"] is None  # as stored: the browser's claim is not a login
    assert isinstance(good["received_at"], int)
    assert micro.bad() == []
    (line,) = micro.lines()
    assert line.startswith("good purchase ")
    assert f'event_id="{event["event_id"]}"' in line
    assert 'data={"price": 9.99, "currency": "EUR"}' in line


def test_a_refused_event_is_bad_with_the_reason_and_its_neighbour_is_good(micro: Micro) -> None:
    session = micro.new_session()
    fine = make_event(session)
    wrong = make_event(session, event_name="purchase", colour="red")
    answer = micro.post(session, [wrong, fine])
    assert answer.status_code == 200
    assert [event["event_id"] for event in micro.good()] == [fine["event_id"]]
    (bad,) = micro.bad()
    assert bad["status"] == 200 and bad["index"] == 0
    assert bad["event_id"] == wrong["event_id"]
    assert bad["event"] == wrong
    assert bad["error"]["field"] == "events.0.colour"
    assert bad["error"]["message"] == answer.json()["rejected"][0]["error"]["message"]
    assert any(
        line.startswith('bad  "purchase"') and "events.0.colour" in line for line in micro.lines()
    )


def test_a_refused_batch_makes_each_of_its_events_bad(micro: Micro) -> None:
    session = micro.new_session()
    events = [make_event(session), make_event(session)]
    answer = micro.post(session, events, token="v1.forged")
    assert answer.status_code == 403
    bad = micro.bad()
    assert [refusal["event"] for refusal in bad] == events
    assert {refusal["error"]["field"] for refusal in bad} == {"csrf_token"}
    assert {refusal["status"] for refusal in bad} == {403}
    not_json = micro.client.post("/v1/events", content=b"{", headers={"X-Allegro-CSRF": "x"})
    assert not_json.status_code == 400
    assert micro.bad()[-1]["event"] is None
    assert micro.good() == []


def test_a_resent_event_is_good_once(micro: Micro) -> None:
    session = micro.new_session()
    event = make_event(session)
    for _ in range(2):
        assert micro.post(session, [event]).json()["accepted"] == [event["event_id"]]
    assert [good["event_id"] for good in micro.good()] == [event["event_id"]]


def test_reset_empties_the_record(micro: Micro) -> None:
    session = micro.new_session()
    micro.post(session, [make_event(session), make_event(session, event_id="not-a-uuid")])
    assert (len(micro.good()), len(micro.bad())) == (1, 1)
    assert micro.client.post("/micro/reset").json() == {"reset": True}
    assert (micro.good(), micro.bad()) == ([], [])
    unknown = micro.client.get("/micro/nothing")
    assert unknown.status_code == 404
    assert "GET /micro/good" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:3000", True),
        ("http://[::1]:5173", True),
        ("http://localhost", True),
        ("https://news.example", False),
        ("http://127.0.0.1.news.example", False),
        ("http://localhost.news.example:80", False),
        ("https://localhost:3000", False),
    ],
)
def test_any_http_loopback_origin_is_allowed(micro: Micro, origin: str, allowed: bool) -> None:
    preflight = micro.client.options(
        "/v1/events",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-allegro-csrf",
        },
    )
    assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed
    simple = micro.client.post("/v1/sessions", json={"device_id": str(uuid.uuid4())})
    assert simple.status_code == 201
    from_origin = micro.client.post(
        "/v1/sessions", json={"device_id": str(uuid.uuid4())}, headers={"Origin": origin}
    )
    assert (from_origin.headers.get("access-control-allow-origin") == origin) is allowed


def test_member_login_works_with_a_member_secret() -> None:
    options = {"member_secret": MEMBER_SECRET, "member_audience": AUDIENCE}
    with (
        running_micro(quiet=True, **options) as running,
        httpx.Client(base_url=running.url) as client,
    ):
        device_id = str(uuid.uuid4())
        session = client.post("/v1/sessions", json={"device_id": device_id}).json()
        login = client.post(
            "/v1/members/login",
            json={
                "device_id": device_id,
                "session_id": session["session_id"],
                "customer_id": "c-42",
                "token": mint_member_token("c-42", MEMBER_SECRET, AUDIENCE),
            },
            headers={"X-Allegro-CSRF": session["csrf_token"]},
        )
        assert login.status_code == 200, login.text
        rotated = login.json()  # the member's new session (docs/protocol.md: login rotates)
        event = make_event({**session, **rotated, "device_id": device_id}, customer_id="c-42")
        posted = client.post(
            "/v1/events",
            json={"events": [event]},
            headers={"X-Allegro-CSRF": rotated["csrf_token"]},
        )
        assert posted.status_code == 200
        assert client.get("/micro/good").json()["events"][0]["customer_id"] == "c-42"


def test_without_a_member_secret_login_is_not_enabled(micro: Micro) -> None:
    session = micro.new_session()
    login = micro.client.post(
        "/v1/members/login",
        json={
            "device_id": session["device_id"],
            "session_id": session["session_id"],
            "customer_id": "c-42",
            "token": "x",
        },
        headers={"X-Allegro-CSRF": session["csrf_token"]},
    )
    assert login.status_code == 501


def test_each_start_has_new_secrets_and_an_empty_database() -> None:
    with running_micro(quiet=True) as first:
        first_db = first.settings.db_path
        assert first_db.exists()
    with running_micro(quiet=True) as second:
        assert second.settings.signing_key != first.settings.signing_key
        assert second.settings.admin_key != first.settings.admin_key
    assert not first_db.exists() and not first_db.parent.exists()  # deleted at exit


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.2", "example.com", ""]))


def test_the_command_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["micro", "--host", "0.0.0.0"], environ={})
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-non-loopback" in err


def test_the_command_needs_an_audience_with_a_member_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["micro"], environ={"ALLEGRO_MEMBER_SECRET": MEMBER_SECRET})
    assert caught.value.code == 2
    assert "needs --member-audience" in capsys.readouterr().err


def test_the_command_serves_and_prints_each_event(tmp_path: Path) -> None:
    port = free_port()
    script = Path(sys.executable).with_name("allegro-collector")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_")}
    process = subprocess.Popen(
        [str(script), "micro", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith(f"micro collector: http://127.0.0.1:{port} ")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        for _ in range(200):  # the banner comes just before uvicorn binds the port
            try:
                client.get("/micro/good")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        device_id = str(uuid.uuid4())
        session = {
            **client.post("/v1/sessions", json={"device_id": device_id}).json(),
            "device_id": device_id,
        }
        event = make_event(session, event_name="signup")
        client.post(
            "/v1/events",
            json={"events": [event]},
            headers={"X-Allegro-CSRF": session["csrf_token"]},
        )
        assert process.stdout.readline().startswith("good signup ")
        client.close()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran
    assert "Traceback" not in stderr
