"""The example site: `/checkout` (checkout.html with the collector's address in its script tag)
and `/allegro.js` (the SDK bundle). A real site has its own server; this one is only the stand-in.

    python server.py --port 8000 --collector http://127.0.0.1:8766
"""

from __future__ import annotations

import argparse
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parents[1] / "static" / "allegro.js"  # what `make build` writes


class Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: object, collector: str, bundle: Path) -> None:
        self.collector = collector
        self.bundle = bundle
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.path == "/checkout":
            html = (HERE / "checkout.html").read_text("utf-8")
            self.reply(html.replace("{{COLLECTOR}}", self.collector).encode(), "text/html")
        elif self.path == "/allegro.js":
            self.reply(self.bundle.read_bytes(), "text/javascript")
        else:
            self.send_error(404)

    def reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(port: int, collector: str, bundle: Path = BUNDLE) -> ThreadingHTTPServer:
    handler = partial(Handler, collector=collector, bundle=bundle)
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--collector", default="http://127.0.0.1:8766")
    args = parser.parse_args()
    make_server(args.port, args.collector).serve_forever()
