"""`GET /sdk/...`: the collector serves the SDK bundle, so a site runs one service.

`/sdk/allegro.<hash>.js` never changes (its name is its content's hash): cached for a year,
`immutable`. `/sdk/allegro.js` is the same bytes under a name that follows upgrades: a short
cache and an ETag. `/sdk/manifest.json` names the hashed file and its integrity. Each is sent
brotli or gzip compressed as `Accept-Encoding` allows (pre-compressed by the build), with
`Access-Control-Allow-Origin: *`, so that `<script crossorigin integrity=...>` can check it.

The bundle comes from `allegro_collector/sdk_static/` in an installed wheel, or from `static/` in a
source checkout after `make build` (docs/build.md: Distribution).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from allegro_collector.errors import ApiError

logger = logging.getLogger("allegro_collector")

MANIFEST = "manifest.json"
PACKAGED_DIR = Path(__file__).resolve().parent / "sdk_static"
SOURCE_DIR = Path(__file__).resolve().parent.parent / "static"
SDK_PREFIX = "/sdk/"
LATEST_NAME = "allegro.js"
IMMUTABLE = "public, max-age=31536000, immutable"
LATEST_CACHE = "public, max-age=300"  # five minutes: an upgrade reaches pages soon
JAVASCRIPT = "text/javascript; charset=utf-8"
# What a request for the bundle may be sent as, best first; the build wrote each beside it.
ENCODINGS = ("br", "gzip")


class NoBundleError(Exception):
    """No built SDK where the collector looks: the message says how to get one."""


@dataclass(frozen=True)
class Bundle:
    """The built SDK: its manifest and its bytes, identity and each pre-compressed encoding."""

    manifest: dict[str, object]
    bodies: dict[str, bytes]  # "identity", "br", "gzip"

    @property
    def file(self) -> str:
        return str(self.manifest["file"])

    @property
    def integrity(self) -> str:
        return str(self.manifest["integrity"])

    @classmethod
    def load(cls, directory: Path) -> Bundle:
        try:
            manifest = json.loads((directory / MANIFEST).read_text("utf-8"))
            name = str(manifest["file"])
            bodies = {"identity": (directory / name).read_bytes()}
            encodings = manifest["encodings"]
            for encoding in ENCODINGS:
                bodies[encoding] = (directory / encodings[encoding]["file"]).read_bytes()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NoBundleError(f"the SDK bundle in {directory} is incomplete: {exc}") from exc
        if len(bodies["identity"]) != manifest["bytes"]:
            raise NoBundleError(f"{directory / name} is not the size its manifest says")
        return cls(manifest, bodies)


def find_bundle_dir() -> Path:
    """Where the built SDK is: the wheel's copy first, then a source checkout's `static/`."""
    for directory in (PACKAGED_DIR, SOURCE_DIR):
        if (directory / MANIFEST).is_file():
            return directory
    raise NoBundleError(
        f"no SDK bundle: neither {PACKAGED_DIR / MANIFEST} (an installed wheel) nor "
        f"{SOURCE_DIR / MANIFEST} (a source checkout: run `make build`) exists"
    )


def load_bundle(directory: Path | None = None) -> Bundle:
    return Bundle.load(directory if directory is not None else find_bundle_dir())


def accepted_encoding(accept_encoding: str) -> str:
    """The best of ENCODINGS the client accepts (`q` > 0), or "identity"."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, parameters = item.partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name.strip():
            weights[name.strip().lower()] = weight
    for encoding in ENCODINGS:
        if weights.get(encoding, weights.get("*", 0.0)) > 0:
            return encoding
    return "identity"


def _common_headers() -> dict[str, str]:
    return {
        # A public script: any page may load it with `crossorigin` and check its integrity.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


def routes(bundle: Bundle | None) -> list[Route]:
    """The `/sdk/` routes; without a bundle they answer 404 saying how to get one."""

    def script(request: Request) -> Response:
        name = request.path_params["name"]
        if bundle is None:
            raise ApiError(404, "this collector has no SDK bundle (see its startup log)")
        if name == bundle.file:
            cache_control = IMMUTABLE
        elif name == LATEST_NAME:
            cache_control = LATEST_CACHE
        else:
            raise ApiError(
                404,
                f"no SDK file {name[:100]!r}: this collector serves {bundle.file} and "
                f"{LATEST_NAME}",
            )
        encoding = accepted_encoding(request.headers.get("accept-encoding", ""))
        # One ETag per content and encoding (a cache must not answer gzip bytes to a br request).
        etag = f'"{bundle.file}-{encoding}"'
        headers = {
            **_common_headers(),
            "Cache-Control": cache_control,
            "Vary": "Accept-Encoding",
            "ETag": etag,
        }
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(bundle.bodies[encoding], media_type=JAVASCRIPT, headers=headers)

    def manifest(request: Request) -> Response:
        if bundle is None:
            raise ApiError(404, "this collector has no SDK bundle (see its startup log)")
        headers = {**_common_headers(), "Cache-Control": LATEST_CACHE}
        body = json.dumps(bundle.manifest).encode("utf-8")
        return Response(body, media_type="application/json", headers=headers)

    return [
        Route(SDK_PREFIX + MANIFEST, manifest, methods=["GET"]),
        Route(SDK_PREFIX + "{name}", script, methods=["GET"]),
    ]


def bundle_or_none(directory: Path | None = None) -> Bundle | None:
    """The bundle to serve, or None (logged) when there is none: events are still collected."""
    try:
        return load_bundle(directory)
    except NoBundleError as exc:
        logger.warning("GET /sdk/ answers 404: %s", exc)
        return None
