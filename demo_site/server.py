"""The demo publisher site: server-rendered pages with the SDK snippet, and the built SDK.

Pages carry a strict Content-Security-Policy (no 'unsafe-eval', the collector in connect-src), as a
careful publisher's would; the inline snippet is allowed by a per-response nonce.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).resolve().parent / "pages"
STATIC = ROOT / "static"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def render(page: str, collector: str, nonce: str) -> str:
    template = (PAGES / page).read_text("utf-8")
    return template.replace("{{collector}}", collector).replace("{{nonce}}", nonce)


def csp(collector: str, nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; connect-src 'self' {collector}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:"
    )


def create_app(collector: str, static_dir: Path = STATIC) -> Starlette:
    collector = collector.rstrip("/")

    async def page(request: Request) -> Response:
        name = request.path_params.get("name", "index")
        path = PAGES / f"{name}.html"
        if not name.replace("-", "").isalnum() or not path.is_file():
            return HTMLResponse("<h1>Not found</h1>", status_code=404)
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(
            render(path.name, collector, nonce),
            headers={"Content-Security-Policy": csp(collector, nonce)},
        )

    async def sdk(request: Request) -> Response:
        """The built SDK, pre-compressed by the build when the browser accepts it."""
        bundle = static_dir / "allegro.js"
        if not bundle.is_file():
            return Response("allegro.js is not built: run make build", status_code=404)
        accepted = request.headers.get("accept-encoding", "")
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        for encoding, suffix in ENCODINGS:
            compressed = bundle.with_name(bundle.name + suffix)
            if encoding in accepted and compressed.is_file():
                headers["Content-Encoding"] = encoding
                return FileResponse(compressed, media_type="text/javascript", headers=headers)
        return FileResponse(bundle, media_type="text/javascript", headers=headers)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/static/allegro.js", sdk),
            Route("/{name}", page),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the allegro demo publisher site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--collector", default="http://127.0.0.1:8765")
    args = parser.parse_args(argv)
    print(f"demo site: http://{args.host}:{args.port}/ (collector {args.collector})", flush=True)
    uvicorn.run(create_app(args.collector), host=args.host, port=args.port, log_level="warning")
    return 0
