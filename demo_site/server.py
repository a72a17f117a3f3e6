"""The demo publisher site: server-rendered pages with the SDK snippet, the built SDK, a tiny
member login backend and a live view of the collector's stored events.

Pages carry a strict Content-Security-Policy (no 'unsafe-eval', no inline script without the
per-response nonce, the collector in connect-src), as a careful publisher's would.
See docs/demo-site.md.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from allegro_collector.member_tokens import check_secret, mint_member_token
from allegro_sdk.core.protocol import DEVICE_COOKIE
from demo_site.dashboard import WINDOWS, delivery_view, window_view
from demo_site.live import CollectorUnavailable, EventSource, LiveFilter, event_views

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC = ROOT / "static"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
DEMO_PASSWORD = "demo"
MEMBER_TOKEN_LIFETIME_SECONDS = 5 * 60
MEMBER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MAX_LOGIN_BODY_BYTES = 4096

# The site's plain pages: path -> template in demo_site/templates/.
PAGES: dict[str, str] = {
    "/": "home.html",
    "/articles/orchestra-opens-season": "article-free.html",
    "/articles/inside-the-conductors-score": "article-premium.html",
    "/video/first-rehearsal": "video.html",
    "/shop/season-ticket": "product.html",
    "/login": "login.html",
    "/privacy": "privacy.html",  # the page in opt-in mode, with a consent banner
}


# The season programme, a single-page app (`programme.html`, `assets/programme.js`): one page
# for every section's address; the router changes sections without reloading.
PROGRAMME: dict[str, dict[str, str]] = {
    "concerts": {
        "title": "Concerts",
        "text": "Twelve evenings in the old hall, from Haydn to a premiere by the orchestra's own "
        "composer in residence.",
    },
    "workshops": {
        "title": "Workshops",
        "text": "Saturday mornings with the players: bring an instrument, or just your ears.",
    },
    "family-days": {
        "title": "Family days",
        "text": "Short concerts for small listeners, with the instruments to touch afterwards.",
    },
}


def template_environment(directory: Path = TEMPLATE_DIR) -> Environment:
    """The Jinja environment of the site's templates (plain HTML files in `directory`)."""
    return Environment(
        loader=FileSystemLoader(directory),
        # Every {{ value }} of an .html template is HTML-escaped, so stored event data (sent by
        # any browser) cannot become markup; nothing untrusted is ever marked |safe.
        autoescape=select_autoescape(["html"]),
        # A value the page needs but was not given is a bug in the page: raise, never print "".
        undefined=StrictUndefined,
        # Block tags on their own line leave no blank line; files keep their final newline.
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


TEMPLATES = Jinja2Templates(env=template_environment())


def csp(collector: str, nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; connect-src 'self' {collector}; "
        "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


@dataclass(frozen=True)
class MemberLogin:
    """What the login backend needs to mint member tokens the collector will believe."""

    secret: bytes
    audience: str | None  # None: the origin the page was requested from


def create_app(
    collector: str,
    static_dir: Path = STATIC,
    *,
    admin_key: str | None = None,
    member_secret: str | bytes | None = None,
    member_audience: str | None = None,
) -> Starlette:
    """The demo site for a collector at `collector` (as the browser reaches it).

    `admin_key` lets the live view read stored events; `member_secret` (shared with the
    collector, at least 32 bytes) lets the login backend mint member tokens for
    `member_audience` (default: the site's own origin, as requested).
    """
    collector = collector.rstrip("/")
    events = EventSource(collector, admin_key)
    members = (
        MemberLogin(check_secret(member_secret), member_audience)
        if member_secret is not None
        else None
    )

    def html_page(
        request: Request,
        template: str,
        values: Mapping[str, object] | None = None,
        status_code: int = 200,
    ) -> Response:
        """The page `template` with the collector's address and a fresh CSP nonce."""
        nonce = secrets.token_urlsafe(16)
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {"collector": collector, "nonce": nonce, **(values or {})},
            status_code=status_code,
            headers={"Content-Security-Policy": csp(collector, nonce)},
        )

    def page(template: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return html_page(request, template)

        return endpoint

    async def programme(request: Request) -> Response:
        key = request.path_params.get("section", "concerts")
        if key not in PROGRAMME:
            return html_page(request, "not-found.html", status_code=404)
        return html_page(
            request, "programme.html", {"section": PROGRAMME[key], "sections": PROGRAMME}
        )

    async def listing(request: Request, filters: LiveFilter) -> dict[str, object]:
        """The values of `_events.html`: the events, or the problem, and a one-line status."""
        visitor = request.cookies.get(DEVICE_COOKIE) or None
        if filters.only_mine and not visitor:
            return {"events": [], "problem": None, "status": "this browser has no device id yet"}
        try:
            found = await run_in_threadpool(events.latest, filters.admin_query(visitor))
        except CollectorUnavailable as problem:
            return {"events": [], "problem": str(problem), "status": "not updating"}
        matching = " matching the filter" if filters.active else ""
        return {
            "events": event_views(found, visitor),
            "problem": None,
            "status": f"{len(found)} newest{matching} shown",
        }

    async def live(request: Request) -> Response:
        filters = LiveFilter.of(request.query_params)
        query = filters.query()
        values = await listing(request, filters)
        return html_page(
            request,
            "live.html",
            {
                **values,
                "filters": filters,
                "only_mine": filters.only_mine,
                "feed_url": f"/live/events?{query}" if query else "/live/events",
            },
        )

    async def live_events(request: Request) -> Response:
        values = await listing(request, LiveFilter.of(request.query_params))
        return TEMPLATES.TemplateResponse(
            request,
            "_events.html",
            values,
            headers={"Cache-Control": "no-store", "X-Live-Status": str(values["status"])},
        )

    async def figures() -> dict[str, object]:
        """The values of `_dashboard.html`: each window's figures and the delivery health, or
        the problem."""
        now = int(time.time() * 1000)
        try:
            answers = [
                await run_in_threadpool(events.stats, now - window.span_ms) for window in WINDOWS
            ]
        except CollectorUnavailable as problem:
            return {"windows": [], "delivery": None, "problem": str(problem)}
        return {
            "windows": [window_view(w, a) for w, a in zip(WINDOWS, answers, strict=True)],
            "delivery": delivery_view(answers[0]),
            "problem": None,
        }

    async def dashboard(request: Request) -> Response:
        return html_page(request, "dashboard.html", await figures())

    async def dashboard_panel(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(
            request, "_dashboard.html", await figures(), headers={"Cache-Control": "no-store"}
        )

    async def login(request: Request) -> Response:
        """Check the demo password; answer the customer id and a member token for the SDK."""
        if members is None:
            return login_problem(503, "member login is not configured on this demo site")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return login_problem(415, "send the login as application/json")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():  # bounded: never more than the limit in memory
            size += len(chunk)
            if size > MAX_LOGIN_BODY_BYTES:
                return login_problem(413, "the login request is too large")
            chunks.append(chunk)
        try:
            fields = json.loads(b"".join(chunks))
        except (ValueError, RecursionError):
            return login_problem(400, "the login request is not JSON")
        name = fields.get("name") if isinstance(fields, dict) else None
        password = fields.get("password") if isinstance(fields, dict) else None
        if not isinstance(name, str) or not MEMBER_NAME.fullmatch(name.strip()):
            return login_problem(400, "a member name is 1 to 64 letters, digits or . _ @ -", "name")
        if not isinstance(password, str) or not hmac.compare_digest(
            password.encode(), DEMO_PASSWORD.encode()
        ):
            return login_problem(401, f"wrong password: the demo password is '{DEMO_PASSWORD}'")
        customer_id = name.strip().lower()
        audience = members.audience or f"{request.url.scheme}://{request.url.netloc}"
        token = mint_member_token(
            customer_id, members.secret, audience, MEMBER_TOKEN_LIFETIME_SECONDS
        )
        return JSONResponse(
            {
                "customer_id": customer_id,
                "token": token,
                "expires_in": MEMBER_TOKEN_LIFETIME_SECONDS,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def sdk(request: Request) -> Response:
        """The built SDK (or its debug build, allegro.debug.js), pre-compressed by the build when
        the browser accepts it."""
        name = request.url.path.rpartition("/")[2]
        bundle = static_dir / name
        if not bundle.is_file():
            return Response(f"{name} is not built: run make build", status_code=404)
        accepted = request.headers.get("accept-encoding", "")
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        for encoding, suffix in ENCODINGS:
            compressed = bundle.with_name(bundle.name + suffix)
            if encoding in accepted and compressed.is_file():
                headers["Content-Encoding"] = encoding
                return FileResponse(compressed, media_type="text/javascript", headers=headers)
        return FileResponse(bundle, media_type="text/javascript", headers=headers)

    async def not_found(request: Request, exc: Exception) -> Response:
        return html_page(request, "not-found.html", status_code=404)

    return Starlette(
        routes=[
            *(Route(path, page(template)) for path, template in PAGES.items()),
            Route("/programme", programme),
            Route("/programme/{section}", programme),
            Route("/live", live),
            Route("/live/events", live_events),
            Route("/dashboard", dashboard),
            Route("/dashboard/panel", dashboard_panel),
            Route("/api/login", login, methods=["POST"]),
            Route("/static/allegro.js", sdk),
            Route("/static/allegro.debug.js", sdk),
            Mount("/assets", StaticFiles(directory=ASSETS), name="assets"),
        ],
        exception_handlers={404: not_found},
    )


def login_problem(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"field": field, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """Serve the demo site. Its secrets come from the environment only, never from the command
    line (where every user of the machine sees them)."""
    parser = argparse.ArgumentParser(
        description="Serve the allegro demo publisher site. ALLEGRO_ADMIN_KEY (the collector's "
        "admin key, for the live view) and ALLEGRO_MEMBER_SECRET (the member identity secret "
        "shared with the collector, at least 32 bytes; without it the login form is off) are "
        "read from the environment."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--collector", default="http://127.0.0.1:8765")
    parser.add_argument(
        "--member-audience",
        default=environ.get("ALLEGRO_MEMBER_AUDIENCE"),
        help="the audience of member tokens, the collector's --member-audience "
        "(env ALLEGRO_MEMBER_AUDIENCE); default: http://HOST:PORT of this site",
    )
    args = parser.parse_args(argv)
    origin = f"http://{args.host}:{args.port}"
    try:
        app = create_app(
            args.collector,
            admin_key=environ.get("ALLEGRO_ADMIN_KEY") or None,
            member_secret=environ.get("ALLEGRO_MEMBER_SECRET") or None,
            member_audience=args.member_audience or origin,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(
        f"demo site: {origin}/  (live events: {origin}/live, collector {args.collector})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
