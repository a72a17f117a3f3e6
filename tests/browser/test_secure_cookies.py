"""On an https page the SDK's cookies carry Secure: the demo site and collector served over TLS."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from playwright.sync_api import Browser

from allegro_collector.app import create_app as create_collector
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey
from demo_site.server import create_app as create_demo_site

from .conftest import ADMIN_KEY


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A self-signed certificate for 127.0.0.1, made with Debian's openssl."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return {"ssl_keyfile": str(key), "ssl_certfile": str(cert)}


@pytest.fixture(scope="module")
def https_site(
    tmp_path_factory: pytest.TempPathFactory, tls_files: dict[str, str]
) -> Iterator[tuple[str, httpx.Client]]:
    site_sock, collector_sock = free_socket(), free_socket()
    site_url = f"https://127.0.0.1:{site_sock.getsockname()[1]}"
    collector_url = f"https://127.0.0.1:{collector_sock.getsockname()[1]}"
    settings = Settings(
        db_path=Path(tmp_path_factory.mktemp("tls-collector")) / "events.sqlite3",
        signing_key=SigningKey.from_secret("tls-tests-secret"),
        allowed_origins=(site_url,),
        admin_key=ADMIN_KEY,
    )
    servers = [
        serve_in_thread(create_collector(settings), collector_sock, **tls_files),
        serve_in_thread(create_demo_site(collector_url), site_sock, **tls_files),
    ]
    admin = httpx.Client(
        base_url=collector_url,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        verify=ssl.create_default_context(cafile=tls_files["ssl_certfile"]),
        timeout=10,
    )
    yield site_url, admin
    admin.close()
    for server in servers:
        server.stop()


def test_cookies_are_secure_on_an_https_page(
    browser: Browser, https_site: tuple[str, httpx.Client]
) -> None:
    site_url, admin = https_site
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(site_url + "/")
        page.locator("#last-event", has_text="stored").wait_for(timeout=15000)
        event_id = str(page.text_content("#last-event")).rsplit(" ", 1)[-1]
        jar = {str(c["name"]): c for c in context.cookies()}
        assert jar["allegro_device_id"]["secure"] is True
        assert jar["allegro_session_id"]["secure"] is True
        events = admin.get("/v1/events", params={"limit": "10"}).json()["events"]
        assert [e["event_id"] for e in events if e["event_id"] == event_id] == [event_id]
    finally:
        context.close()
