"""GET /sdk/...: the collector serves the built SDK (static/, from `make build`) over HTTP, as a
browser fetches it: hashed and cached forever, or latest with a short cache; compressed as asked."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread

from allegro_collector.app import create_app
from allegro_collector.settings import Settings

from .support import ALLOWED_ORIGIN, Collector

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.fixture(scope="module")
def manifest() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((STATIC / "manifest.json").read_text("utf-8"))
    return loaded


@pytest.fixture(scope="module")
def bundle() -> bytes:
    return (STATIC / "allegro.js").read_bytes()


def test_the_manifest_names_the_built_bundle(manifest: dict[str, object], bundle: bytes) -> None:
    digest = hashlib.sha256(bundle).hexdigest()[:16]
    assert manifest["file"] == f"allegro.{digest}.js"
    assert (STATIC / f"allegro.{digest}.js").read_bytes() == bundle
    assert manifest["bytes"] == len(bundle)
    sri = "sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode()
    assert manifest["integrity"] == sri


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("", None),
    ],
)
def test_the_hashed_bundle_is_cached_forever_and_compressed_as_asked(
    collector: Collector,
    manifest: dict[str, object],
    bundle: bytes,
    accept: str,
    encoding: str | None,
) -> None:
    response = collector.client.get(f"/sdk/{manifest['file']}", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.content == bundle  # httpx undoes br and gzip
    assert response.headers.get("content-encoding") == encoding
    sizes = {None: len(bundle), **{k: v["bytes"] for k, v in manifest["encodings"].items()}}  # type: ignore[attr-defined]
    assert response.num_bytes_downloaded == sizes[encoding]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "Accept-Encoding" in response.headers["vary"].split(", ")  # CORS adds Origin
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_page_of_the_site_may_check_its_integrity(
    collector: Collector, manifest: dict[str, object]
) -> None:
    # The collector's own CORS echoes the origins it receives events from; any other site gets *.
    for origin, allowed in ((ALLOWED_ORIGIN, ALLOWED_ORIGIN), ("https://any.example", "*")):
        response = collector.client.get(f"/sdk/{manifest['file']}", headers={"Origin": origin})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == allowed
        assert "access-control-allow-credentials" not in response.headers


def test_latest_has_a_short_cache_and_revalidates(
    collector: Collector, manifest: dict[str, object], bundle: bytes
) -> None:
    response = collector.client.get("/sdk/allegro.js")
    assert response.status_code == 200 and response.content == bundle
    assert response.headers["cache-control"] == "public, max-age=300"
    again = collector.client.get(
        "/sdk/allegro.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")
    served = collector.client.get("/sdk/manifest.json").json()
    assert served == manifest


def test_an_unknown_bundle_is_a_404_naming_what_is_served(
    collector: Collector, manifest: dict[str, object]
) -> None:
    response = collector.client.get("/sdk/allegro.0123456789abcdef.js")
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "allegro.0123456789abcdef.js" in message and str(manifest["file"]) in message


def test_without_a_bundle_the_sdk_is_a_404_and_events_still_work(
    settings: Settings, tmp_path: Path
) -> None:
    running = serve_in_thread(create_app(settings, sdk_dir=tmp_path), free_socket())
    try:
        with httpx.Client(base_url=running.url) as client:
            missing = client.get("/sdk/allegro.js")
            assert missing.status_code == 404
            assert "no SDK bundle" in missing.json()["error"]["message"]
            device = str(uuid.uuid4())
            assert client.post("/v1/sessions", json={"device_id": device}).status_code == 201
            assert client.get("/healthz").status_code == 200
    finally:
        running.stop()
