"""Starts the SDK: reads the script tag's settings, installs window.allegro, drains the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.browser.api import build_api
from allegro_sdk.browser.boot_js import current_script, debug, guard, start_in_slices, web_locks
from allegro_sdk.browser.console import BrowserConsole
from allegro_sdk.browser.cookies import CookieJar
from allegro_sdk.browser.js import is_missing
from allegro_sdk.browser.links import send_when_hidden, watch_tracked_links
from allegro_sdk.browser.page import PageReader, WhenParsed
from allegro_sdk.browser.randomness import new_uuid4
from allegro_sdk.browser.storage import LocalStorage
from allegro_sdk.browser.transport import post_json
from allegro_sdk.core.call_time import CallTime
from allegro_sdk.core.collector_address import check_collector
from allegro_sdk.core.consent import DENIED, GRANTED, Consent, erase, opt_in
from allegro_sdk.core.errors import NotStored
from allegro_sdk.core.ids import uuid7_from
from allegro_sdk.core.member import Members
from allegro_sdk.core.options import OPTIONS, read_options
from allegro_sdk.core.outbox import Outbox
from allegro_sdk.core.promises import Promises
from allegro_sdk.core.protocol import SESSIONS_PATH, request_url, session_request
from allegro_sdk.core.sender import Sender
from allegro_sdk.core.session import SessionManager
from allegro_sdk.core.tracker import Tracker
from allegro_sdk.core.unconfigured import Unconfigured
from allegro_sdk.core.url_params import stripped_names

if TYPE_CHECKING:
    from collections.abc import Callable

    from allegro_sdk.browser.api import Tracks
    from allegro_sdk.core.command_queue import CommandQueue
    from allegro_sdk.core.errors import TrackingError
    from allegro_sdk.core.ports import OnFailure, OnResponse, PostJson
    from allegro_sdk.core.promises import Reject, Resolve
    from allegro_sdk.core.session import RequestSession

SCRIPT_SELECTOR = "script[data-collector]"
# Settings that mean something even without a value (`<script ... data-honor-dnt>`).
FLAGS = ("data-consent", "data-honor-dnt")


def script_settings() -> dict[str, str]:
    """The data-* settings of the SDK's own script tag (read while it is the current script)."""
    script = current_script or window.document.querySelector(SCRIPT_SELECTOR)
    settings = {}
    names = ("data-collector", "data-cookie-domain", "data-strip-params", "data-page-views")
    for name in (*names, *FLAGS, *OPTIONS):
        value = script.getAttribute(name) if script else None
        if value or (name in FLAGS and not is_missing(value)):
            settings[name] = str(value)
    return settings


def asks_not_to_track(settings: dict[str, str]) -> bool:
    """Global Privacy Control; or Do Not Track, when the script tag has data-honor-dnt."""
    navigator = window.navigator
    if getattr(navigator, "globalPrivacyControl", None) is True:
        return True
    honor_dnt = settings.get("data-honor-dnt") not in (None, "false")
    return honor_dnt and getattr(navigator, "doNotTrack", None) == "1"


def install(api: object, queue: CommandQueue) -> None:
    """window.allegro becomes the API; what the page queued before (if it did) runs now."""
    queued = getattr(window, "allegro", None)  # a page may have no snippet at all
    window.allegro = api
    if queued is not None and window.Array.isArray(queued):
        queue.drain(list(queued))


def start() -> None:
    """Start in slices (docs/build.md): each part of `starting()` runs in a task of its own."""
    started: dict[str, object] = {}
    parts = starting(started)

    def step() -> None:
        next(parts, None)

    def leave() -> None:
        # The page is left during the start: every step has just run; send what is waiting.
        leave_now = started.get("leave")
        if leave_now is not None:
            leave_now()  # type: ignore[operator]

    start_in_slices([step, step, step], leave)


def starting(started: dict[str, object]):  # type: ignore[no-untyped-def]
    """The SDK's start, in three parts: the session and the outbox; the sender, the tracker and
    the listeners (both may run while the document is still parsed, in its idle time); then, once
    it is parsed, `window.allegro` and the commands the page queued meanwhile."""
    console = BrowserConsole()
    settings = script_settings()
    collector, problem = check_collector(settings.get("data-collector"))

    # Without the visitor's consent nothing is written or sent: the cookie jar, the storage and
    # the requests below write and send only while it is granted (core/consent.py,
    # docs/privacy.md).
    def allowed() -> bool:
        return consent.status() == GRANTED

    cookies = CookieJar(console, settings.get("data-cookie-domain"), allowed)
    storage = LocalStorage(allowed)
    mode = opt_in(settings.get("data-consent"), console)
    consent = Consent(cookies, mode, asks_not_to_track(settings), console)
    if consent.status() == DENIED:
        erase(cookies, storage)  # what was stored before the visitor said no (or set GPC)
    if problem:
        # Nothing may be sent anywhere (least of all to the host site): pages still get an API.
        console.error(problem)
        unconfigured = Unconfigured(problem)
        api, queue, _ = build_api(unconfigured, unconfigured, consent, console)
        yield
        yield  # the page's commands run once it is parsed, as they would with a collector
        install(api, queue)
        return

    def gated(
        url: str,
        body: str,
        headers: dict[str, str],
        answered: OnResponse,
        failed: OnFailure,
        leaving: bool,
    ) -> None:
        if allowed():
            post_json(url, body, headers, answered, failed, leaving)
        else:
            failed("not sent: no consent")

    post: PostJson = gated
    if debug:
        # Imported only in debug mode: each module costs the page's start some time.
        from allegro_sdk.core.debug_log import LoggingSender, logging_post

        post = logging_post(gated, console.debug)

    request_session: RequestSession = lambda device, session, proof, answered, failed: post(  # noqa: E731
        request_url(collector, SESSIONS_PATH),
        session_request(device, session, proof),
        {},
        answered,
        failed,
        False,
    )

    clock = lambda: int(window.Date.now())  # noqa: E731
    sessions = SessionManager(cookies, new_uuid4, request_session, clock)
    schedule = lambda delay, task: window.setTimeout(guard(task), delay)  # noqa: E731
    tab_id = new_uuid4()
    locks = web_locks
    if is_missing(getattr(window.navigator, "locks", None)):
        # Imported only where needed: each module costs the page's start some time.
        from allegro_sdk.core.lease import LeaseLocks

        locks = LeaseLocks(storage, tab_id, clock, schedule)
    options = read_options(settings, console)
    promises = Promises(schedule, options["data-timeout-seconds"])
    outbox = Outbox(
        storage,
        tab_id,
        clock,
        console,
        locks,
        schedule,
        options["data-outbox-max-events"],
        options["data-outbox-max-kb"],
        options["data-outbox-max-days"],
        on_drop=promises.dropped,
    )
    yield
    members = Members(collector, sessions, post, storage, console)
    sessions.add_listener(members.learn)
    sessions.member_known = members.current
    sender = Sender(
        collector,
        sessions,
        post,
        lambda flush: window.setTimeout(guard(flush), 0),
        outbox,
        schedule,
        lambda: float(window.Math.random()),
        promises,
    )
    consent.forward = sender.send

    def chosen(status: str) -> None:
        if status == GRANTED:
            outbox.adopt(sender.plan_flush)  # what earlier pages and closed tabs left unsent
        elif status == DENIED:
            erase(cookies, storage)
            sessions.end()
            sender.discard()  # their promises resolve, not stored

    consent.listen(chosen)
    if consent.status() == GRANTED:
        outbox.adopt(sender.plan_flush)
    call_time = CallTime(clock)  # an event's timestamp: when the page called track()

    def new_event_id() -> str:
        return uuid7_from(new_uuid4(), call_time.now())

    tracker = Tracker(
        LoggingSender(consent, console.debug) if debug else consent,
        PageReader(),
        new_event_id,
        call_time.now,
        members.current,
        stripped_names(settings.get("data-strip-params")),
        WhenParsed(),
    )

    def link_refused(error: TrackingError) -> None:
        if not isinstance(error, NotStored):
            console.error(error.message)

    # The page's track() calls are handled in the task after the call; the SDK's own events (a
    # tracked link, an automatic page view) handle those first, so events keep the order of the
    # calls (a later event points to the page view before it, not to one tracked after it).
    handle_calls_first: list[Callable[[], None]] = []

    def in_call_order(name: object, data: object, resolve: Resolve, reject: Reject) -> str | None:
        for handle in handle_calls_first:
            handle()
        return tracker.track(name, data, resolve, reject)

    def track_link(name: object, fields: object) -> None:
        in_call_order(name, fields, lambda event_id: None, link_refused)

    calls: Tracks = tracker
    page_views = settings.get("data-page-views")
    if page_views == "auto":
        # Imported only in this mode: each module costs the page's start some time.
        from allegro_sdk.browser.history import auto_page_views

        calls = auto_page_views(in_call_order, clock)
    elif page_views:
        console.error(
            f'data-page-views="{page_views}" is not an option: write data-page-views="auto" '
            "for automatic page views (without it, the page tracks page_view itself)"
        )
    api, queue, handle_tracks_now = build_api(calls, members, consent, console, call_time)
    handle_calls_first.append(handle_tracks_now)

    def leave() -> None:
        handle_tracks_now()  # track() calls not handled yet are events to send too
        sender.leave()

    watch_tracked_links(track_link, sender.flush)
    send_when_hidden(leave)
    started["leave"] = leave
    yield
    install(api, queue)
