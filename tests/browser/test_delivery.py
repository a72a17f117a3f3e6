"""Delivery under faults, in Chromium against the real collector: every event stored exactly once.

Faults are injected with Playwright's routing on the collector's URL (refused connections, 5xx,
429 with Retry-After, the browser going offline), with the collector's own write gate (slow
answers, a batch in flight during a reload), and by reloading or closing pages while events
are waiting. Each scenario tracks a known set of events, then reads the collector's database.
Several tabs of one context share the outbox: which tab POSTed which event id is read from
Playwright's request events. Pages left with keepalive refused, or its budget spent, test the
beacon fallback and the next page's sending.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from collections.abc import Callable

from playwright.sync_api import Page, Request, Route
from write_gates import HeldGate

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until


def open_page(site: Site, page: Page, name: str) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(
        page, site, name, host_page(head, name), STRICT_CSP.format(collector=site.collector_url)
    )
    wait_until(page, "typeof window.allegro.track === 'function'")


def track_all(page: Page, names: list[str]) -> None:
    """Track each name; promises are left to settle (or time out) on their own."""
    page.evaluate("(names) => { for (const n of names) allegro.track(n).catch(() => {}); }", names)


def stored_counts(site: Site, names: list[str]) -> Counter[str]:
    wanted = set(names)
    return Counter(str(e["event_name"]) for e in site.stored_events() if e["event_name"] in wanted)


def wait_for_all(
    site: Site, page: Page, names: list[str], timeout_ms: int = 20_000
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(timeout_ms // 100):
        counts = stored_counts(site, names)
        if set(counts) == set(names):
            break
        page.wait_for_timeout(100)
    return counts


def fault(site: Site, answer: Callable[[Route, int], bool]) -> Callable[[Route], None]:
    """A route handler for POST /v1/events: `answer(route, n)` handles the n-th call itself
    (returning True) or lets it through to the real collector."""
    calls = {"n": 0}

    def handle(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        calls["n"] += 1
        if not answer(route, calls["n"]):
            route.continue_()

    return handle


def cors(site: Site) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": site.url,
        "Access-Control-Expose-Headers": "Retry-After",
    }


def names(prefix: str, count: int) -> list[str]:
    tag = secrets.token_hex(3)
    return [f"{prefix}_{tag}_{n}" for n in range(count)]


def test_a_collector_that_refuses_connections_then_comes_back(site: Site, page: Page) -> None:
    events = names("down", 5)
    page.route(
        site.collector_url + "/v1/events",
        fault(site, lambda route, n: n <= 2 and (route.abort() or True)),
    )
    open_page(site, page, "down")
    track_all(page, events)
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_server_errors_are_retried(site: Site, page: Page) -> None:
    events = names("five_hundred", 5)

    def five_hundred(route: Route, n: int) -> bool:
        if n <= 2:
            route.fulfill(
                status=500 + n,
                headers=cors(site),
                json={"error": {"field": None, "message": "boom"}},
            )
            return True
        return False

    page.route(site.collector_url + "/v1/events", fault(site, five_hundred))
    open_page(site, page, "errors")
    result = page.evaluate("(names) => Promise.all(names.map((n) => allegro.track(n)))", events)
    assert len(result) == 5
    assert stored_counts(site, events) == Counter({name: 1 for name in events})


def test_retry_after_is_waited_for(site: Site, page: Page) -> None:
    events = names("slow_down", 1)

    def too_many(route: Route, n: int) -> bool:
        if n == 1:
            headers = {**cors(site), "Retry-After": "2"}
            route.fulfill(
                status=429, headers=headers, json={"error": {"field": None, "message": "slow down"}}
            )
            return True
        return False

    page.route(site.collector_url + "/v1/events", fault(site, too_many))
    open_page(site, page, "retry-after")
    waited = page.evaluate(
        """async (name) => {
            const start = performance.now();
            await allegro.track(name);
            return performance.now() - start;
        }""",
        events[0],
    )
    assert waited >= 2000
    assert stored_counts(site, events) == Counter({events[0]: 1})


def test_offline_then_online(site: Site, page: Page) -> None:
    events = names("offline", 4)
    open_page(site, page, "offline")
    page.evaluate("allegro.track('before_going_offline')")
    page.context.set_offline(True)
    track_all(page, events)
    page.wait_for_timeout(1500)
    assert stored_counts(site, events) == Counter()
    page.context.set_offline(False)
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_events_left_by_a_reload_are_sent_by_the_next_page_with_their_ids(
    site: Site, page: Page
) -> None:
    events = names("reload", 3)
    page.route(
        site.collector_url + "/v1/events", fault(site, lambda route, n: route.abort() or True)
    )
    open_page(site, page, "reload")
    ids = page.evaluate(
        "(names) => names.map((n) => { let id; allegro.track(n).catch((e) => {}); return n; })",
        events,
    )
    assert ids == events
    page.wait_for_timeout(300)  # the batch was tried (and refused) and is kept in localStorage
    kept = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('allegro_outbox:')).length"
    )
    assert kept == 1
    page.unroute(site.collector_url + "/v1/events")
    page.reload()
    wait_until(page, "typeof window.allegro.track === 'function'")
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_a_tab_closed_right_after_track_loses_nothing(site: Site, page: Page) -> None:
    events = names("closed", 3)
    open_page(site, page, "closing")
    page.evaluate("allegro.track('before_closing')")
    track_all(page, events)
    page.close()
    later = page.context.new_page()
    open_page(site, later, "after-close")
    assert wait_for_all(site, later, events) == Counter({name: 1 for name in events})


def test_two_tabs_tracking_at_once(site: Site, page: Page) -> None:
    first, second = names("tab_a", 20), names("tab_b", 20)
    other = page.context.new_page()
    open_page(site, page, "tab-a")
    open_page(site, other, "tab-b")
    track_all(page, first)
    track_all(other, second)
    assert wait_for_all(site, page, first + second) == Counter({n: 1 for n in first + second})


def test_soak_a_thousand_events_across_reloads_under_random_faults(
    site: Site, page: Page, console: Console
) -> None:
    rng = random.Random(20261126)
    events = names("soak", 1000)

    def flaky(route: Route, n: int) -> bool:
        roll = rng.random()
        if roll < 0.2:
            route.abort()
            return True
        if roll < 0.35:
            route.fulfill(
                status=503,
                headers={**cors(site), "Retry-After": "0"},
                json={"error": {"field": None, "message": "busy"}},
            )
            return True
        return False

    page.route(site.collector_url + "/v1/events", fault(site, flaky))
    open_page(site, page, "soak")
    for start in range(0, 1000, 100):
        track_all(page, events[start : start + 100])
        page.wait_for_timeout(rng.randint(0, 400))
        page.reload()
        wait_until(page, "typeof window.allegro.track === 'function'")
    page.unroute(site.collector_url + "/v1/events")
    page.reload()
    counts = wait_for_all(site, page, events, timeout_ms=60_000)
    lost = [name for name in events if counts[name] == 0]
    doubled = [name for name in events if counts[name] > 1]
    stored = sum(counts.values())
    print(f"soak: {len(events)} tracked, {stored} stored, {len(lost)} lost, {len(doubled)} doubled")
    assert (lost, doubled) == ([], [])


def test_a_long_lived_page_keeps_delivering(site: Site, page: Page, console: Console) -> None:
    # 300 requests, one event each: Brython once lost frames on every awaited fetch and raised
    # RecursionError after about 175 (docs/build.md); the transport no longer awaits in Python.
    open_page(site, page, "long-lived")
    events = names("long_lived", 300)
    acknowledged = page.evaluate(
        """async (names) => {
            let count = 0;
            for (const n of names) { await allegro.track(n); count += 1; }
            return count;
        }""",
        events,
    )
    assert acknowledged == 300
    assert stored_counts(site, events) == Counter({name: 1 for name in events})
    assert console.errors == []


class Posts:
    """Which tab POSTed which event ids to /v1/events with fetch (Playwright does not see the
    requests of a page being left, such as beacons)."""

    def __init__(self, site: Site) -> None:
        self.url = site.collector_url + "/v1/events"
        self.by_tab: dict[str, Counter[str]] = {}

    def watch(self, page: Page, tab: str) -> None:
        self.by_tab[tab] = Counter()
        page.on("request", lambda request: self._record(tab, request))

    def _record(self, tab: str, request: Request) -> None:
        if request.method != "POST" or request.url != self.url or not request.post_data:
            return
        ids = [str(event["event_id"]) for event in json.loads(request.post_data)["events"]]
        self.by_tab[tab].update(ids)

    def tabs_of(self) -> dict[str, set[str]]:
        tabs: dict[str, set[str]] = {}
        for tab, ids in self.by_tab.items():
            for event_id in ids:
                tabs.setdefault(event_id, set()).add(tab)
        return tabs


# A tab whose requests all fail at once (no request leaves it).
DEAD_END = """
window.fetch = () => Promise.reject(new TypeError('offline'));
navigator.sendBeacon = () => false;
"""


def leave_events_behind(
    site: Site, page: Page, events: list[str], lapse_its_lease: bool = False
) -> str:
    """A tab that cannot reach the collector tracks `events`, then is closed: its outbox entry
    stays in localStorage. Returns that entry's key."""
    closing = page.context.new_page()
    closing.add_init_script(DEAD_END)
    open_page(site, closing, "left-behind")
    track_all(closing, events)
    key = wait_until(
        closing,
        "Object.keys(localStorage).find((k) => k.startsWith('allegro_outbox:')"
        f" && localStorage.getItem(k).includes('{events[-1]}'))",
    )
    if lapse_its_lease:  # as if 90 s had passed since it was closed
        closing.evaluate(
            "(key) => localStorage.setItem('allegro_lease:' + key, JSON.stringify(['gone', 1]))",
            key,
        )
    closing.close()
    return str(key)


def ids_of(site: Site, names: list[str]) -> dict[str, str]:
    return {
        str(e["event_name"]): str(e["event_id"])
        for e in site.stored_events()
        if e["event_name"] in set(names)
    }


def three_tabs_and_a_closed_one(site: Site, page: Page, web_locks: bool) -> None:
    """A tab adopts what a closed tab left and cannot send it for a while (its first requests
    fail); two more tabs open meanwhile and all three track: every event is stored once, and no
    event id is POSTed by two tabs (before the single sender, the new tabs adopted it too)."""
    left = names("left", 30)
    key = leave_events_behind(site, page, left, lapse_its_lease=not web_locks)
    posts = Posts(site)
    tabs = [page, page.context.new_page(), page.context.new_page()]
    page.route(
        site.collector_url + "/v1/events",
        fault(site, lambda route, n: n <= 2 and (route.abort() or True)),
    )
    per_tab = [names(f"tab{number}", 30) for number in range(3)]
    for number, tab in enumerate(tabs):
        posts.watch(tab, f"tab{number}")
        open_page(site, tab, f"tab-{number}")
        assert tab.evaluate("!!navigator.locks") == web_locks
        track_all(tab, per_tab[number][:10])
    wait_until(page, f"localStorage.getItem('{key}') === null")  # adopted
    for rounds in (1, 2):
        for tab, events in zip(tabs, per_tab, strict=True):
            track_all(tab, events[rounds * 10 : rounds * 10 + 10])
    everything = left + [name for events in per_tab for name in events]
    assert wait_for_all(site, page, everything) == Counter({name: 1 for name in everything})
    for tab in tabs:
        wait_until(tab, "!Object.keys(localStorage).some((k) => k.startsWith('allegro_outbox:'))")
    page.wait_for_timeout(200)  # Playwright's last request events reach Python
    ids, senders = ids_of(site, everything), posts.tabs_of()
    sent_by = {name: sorted(senders.get(ids[name], set())) for name in everything}
    assert sent_by == {
        name: [f"tab{number}"] for number, events in enumerate(per_tab) for name in events
    } | {name: sent_by[left[0]] for name in left}
    assert len(sent_by[left[0]]) == 1  # by the tab that adopted them (the first, normally)


def test_tabs_share_the_outbox_without_sending_an_event_twice(
    site: Site, page: Page, console: Console
) -> None:
    three_tabs_and_a_closed_one(site, page, web_locks=True)
    assert console.errors == ["Failed to load resource: net::ERR_FAILED"] * 2  # the faults


def test_without_web_locks_leases_keep_one_sender_per_entry(
    site: Site, page: Page, console: Console
) -> None:
    page.context.add_init_script("delete Navigator.prototype.locks;")
    three_tabs_and_a_closed_one(site, page, web_locks=False)
    assert console.errors == ["Failed to load resource: net::ERR_FAILED"] * 2  # the faults


# A browser that refuses every keepalive request to the collector (its budget spent, say); the
# beacons the page sends are noted in localStorage, which outlives the page.
KEEPALIVE_REFUSED = """
const realFetch = window.fetch;
window.fetch = function (url, init) {
  if (init && init.keepalive && String(url).endsWith('/v1/events')) {
    return Promise.reject(new TypeError('keepalive refused'));
  }
  return realFetch.apply(this, arguments);
};
const realBeacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = function (url, body) {
  const sent = realBeacon(url, body);
  const notes = JSON.parse(localStorage.getItem('test_beacons') || '[]');
  notes.push({sent, names: JSON.parse(body).events.map((e) => e.event_name)});
  localStorage.setItem('test_beacons', JSON.stringify(notes));
  return sent;
};
"""
NO_OUTBOX = "!Object.keys(localStorage).some((k) => k.startsWith('allegro_outbox:'))"


def test_a_page_left_whose_keepalive_request_is_refused_sends_a_beacon(
    site: Site, page: Page
) -> None:
    events = names("beacon", 5)
    page.add_init_script(KEEPALIVE_REFUSED)
    open_page(site, page, "beacon")
    track_all(page, events)
    page.wait_for_timeout(300)  # the first request was refused; the events wait in the outbox
    assert stored_counts(site, events) == Counter()
    page.goto(site.add_page("elsewhere", host_page("", "elsewhere"), None))  # pagehide
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})
    # No fetch of the SDK got through: the events came with the one beacon.
    assert page.evaluate("JSON.parse(localStorage.getItem('test_beacons'))") == [
        {"sent": True, "names": events}
    ]
    # A beacon's answer cannot be read: the events were kept, and the next page sends them again.
    later = page.context.new_page()
    open_page(site, later, "after-beacon")
    wait_until(later, NO_OUTBOX)
    assert stored_counts(site, events) == Counter({name: 1 for name in events})


def test_a_page_left_with_the_keepalive_budget_spent_leaves_its_events_to_the_next_page(
    site: Site, page: Page
) -> None:
    events = names("budget", 5)
    page.route(site.url + "/slow", lambda route: None)  # never answered: it stays in flight
    open_page(site, page, "budget")
    page.evaluate(
        "() => { fetch('/slow', {method: 'POST', body: 'x'.repeat(64000), keepalive: true}); }"
    )
    track_all(page, events)
    page.wait_for_timeout(300)  # Chrome refuses the SDK's keepalive requests: over 64 KB in all
    assert stored_counts(site, events) == Counter()
    page.goto(site.add_page("elsewhere", host_page("", "elsewhere"), None))  # nothing goes out
    later = page.context.new_page()
    open_page(site, later, "after-budget")
    assert wait_for_all(site, later, events) == Counter({name: 1 for name in events})
    wait_until(later, NO_OUTBOX)


def test_where_web_locks_refuse_every_request_events_are_still_sent(
    site: Site, page: Page, console: Console
) -> None:
    # As in an opaque origin (a sandboxed frame), where navigator.locks rejects every request.
    page.add_init_script(
        "navigator.locks.request = () => Promise.reject(new DOMException('no', 'SecurityError'));"
    )
    events = names("no_locks", 3)
    open_page(site, page, "no-locks")
    track_all(page, events)
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})
    assert console.errors == []


def test_a_tab_holds_its_lock_only_while_events_wait(site: Site, page: Page) -> None:
    # A page that holds a Web Lock cannot enter the back/forward cache: an idle one holds none.
    held = "navigator.locks.query().then((q) => q.held.map((lock) => lock.name))"
    page.route(
        site.collector_url + "/v1/events", fault(site, lambda route, n: route.abort() or True)
    )
    open_page(site, page, "lock-while-busy")
    track_all(page, names("busy", 2))
    key = wait_until(page, "Object.keys(localStorage).find((k) => k.startsWith('allegro_outbox:'))")
    assert page.evaluate(held) == [key]
    page.unroute(site.collector_url + "/v1/events")
    wait_until(page, NO_OUTBOX, timeout=20)
    wait_until(page, f"{held}.then((names) => names.length === 0)")


def posted_ids(page: Page) -> Counter[str]:
    """How many POST /v1/events bodies of this page's context carried each event id."""
    seen: Counter[str] = Counter()

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/events"):
            for event in json.loads(request.post_data or "{}").get("events", []):
                seen[event["event_id"]] += 1

    page.context.on("request", record)
    return seen


def test_slow_answers_are_waited_for_without_sending_again(
    gated_site: tuple[Site, HeldGate], page: Page, console: Console
) -> None:
    """The collector takes 3 s to commit: the batch stays the one request in flight."""
    site, gate = gated_site
    open_page(site, page, "slow")
    sent = posted_ids(page)
    gate.close()
    events = names("slow", 5)
    page.evaluate(
        """(names) => { window.__outcomes = [];
            for (const n of names) allegro.track(n).then(
                (r) => __outcomes.push('resolved'), (e) => __outcomes.push(e.message)); }""",
        events,
    )
    assert gate.wait_for_waiting(1)
    page.wait_for_timeout(3000)
    assert page.evaluate("__outcomes.length") == 0  # nothing settled while the write is held
    gate.open()
    wait_until(page, "__outcomes.length === 5")
    assert page.evaluate("__outcomes") == ["resolved"] * 5
    assert stored_counts(site, events) == Counter({name: 1 for name in events})
    assert set(sent.values()) == {1}
    assert console.errors == []


def test_answers_slower_than_a_promise_timeout_the_site_set_reject_then_arrive_once(
    gated_site: tuple[Site, HeldGate], page: Page
) -> None:
    site, gate = gated_site
    open_tuned_page(site, page, "slower", 'data-timeout-seconds="2"')
    gate.close()
    events = names("slower", 2)
    page.evaluate(
        """(names) => { window.__outcomes = [];
            for (const n of names) allegro.track(n).then(
                (r) => __outcomes.push('resolved'), (e) => __outcomes.push(e.message)); }""",
        events,
    )
    assert gate.wait_for_waiting(1)
    wait_until(page, "__outcomes.length === 2", timeout=8)
    for message in page.evaluate("__outcomes"):
        assert message.endswith(
            "was not acknowledged within 2 s; it is kept and will be sent again"
        )
    gate.open()
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_a_reload_while_a_batch_is_in_flight_stores_each_event_once(
    gated_site: tuple[Site, HeldGate], page: Page
) -> None:
    """The first page's request outlives it (keepalive) and is held at the collector; the events
    were never acknowledged, so they are sent again (by the page being left, or the next page);
    the collector stores each once."""
    site, gate = gated_site
    open_page(site, page, "in-flight")
    gate.close()
    events = names("in_flight", 3)
    track_all(page, events)
    assert gate.wait_for_waiting(1)
    page.reload()
    wait_until(page, "typeof window.allegro.track === 'function'")
    # The next page's copy of the batch reached the collector too: it waits behind the held write.
    site.wait_for_commit_waiting(1)
    gate.open()
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def open_tuned_page(site: Site, page: Page, name: str, options: str) -> None:
    tag = (
        f'<script async src="/static/allegro.js" data-collector="{site.collector_url}" '
        f"{options}></script>"
    )
    head = snippet("window.allegro = window.allegro || [];") + tag
    csp = STRICT_CSP.format(collector=site.collector_url)
    serve_page(page, site, name, host_page(head, name), csp)
    wait_until(page, "typeof window.allegro.track === 'function'")


def test_the_script_tag_sets_the_promise_timeout_and_the_outbox_bound(
    site: Site, page: Page, console: Console
) -> None:
    page.route(site.collector_url + "/v1/events", lambda route: route.abort())
    open_tuned_page(site, page, "tuned", 'data-timeout-seconds="2" data-outbox-max-events="3"')
    events = names("tuned", 5)
    page.evaluate(
        """(names) => { window.__outcomes = {};
            for (const n of names) allegro.track(n).then(
                (r) => { __outcomes[n] = 'resolved'; },
                (e) => { __outcomes[n] = e.message; }); }""",
        events,
    )
    wait_until(page, "Object.keys(__outcomes).length === 5", timeout=8)
    outcomes = page.evaluate("__outcomes")
    for name in events[:2]:
        assert "was dropped from the outbox (full, or the event too old)" in outcomes[name]
    for name in events[2:]:
        assert outcomes[name].endswith(
            "was not acknowledged within 2 s; it is kept and will be sent again"
        )
    kept = page.evaluate(
        """Object.keys(localStorage).filter((k) => k.startsWith('allegro_outbox:'))
            .map((k) => JSON.parse(localStorage.getItem(k)).length)"""
    )
    assert kept == [3]
    assert any("the outbox of unsent events is full" in text for text in console.texts("warning"))


def test_a_bad_option_is_reported_and_its_default_used(
    site: Site, page: Page, console: Console
) -> None:
    open_tuned_page(site, page, "bad-option", 'data-outbox-max-events="soon"')
    assert "event_id" in page.evaluate("allegro.track('after_a_bad_option')")
    assert console.errors == [
        'allegro: data-outbox-max-events="soon" must be a whole number from 1 to 1000000; '
        "using 1000"
    ]


def test_an_unreachable_collector_raises_no_unhandled_rejection(
    site: Site, page: Page, console: Console
) -> None:
    """The README's snippet, whose track() promise nobody catches, on a page that cannot reach
    the collector: past the 10 s after which a promise used to reject, nothing is rejected and
    nothing reaches the page's error handlers; the event waits in the outbox for a later page."""
    page.route(site.collector_url + "/**", lambda route: route.abort())
    head = snippet(
        "window.__unhandled = [];"
        "addEventListener('unhandledrejection', (e) => __unhandled.push(String(e.reason)));"
        "window.allegro = window.allegro || [];"
        "window.allegro.push(function (allegro) { allegro.track('page_view'); });"
    ) + sdk_tag(site.collector_url)
    csp = STRICT_CSP.format(collector=site.collector_url)
    serve_page(page, site, "unreachable", host_page(head, "unreachable"), csp)
    wait_until(page, "typeof window.allegro.track === 'function'")
    page.wait_for_timeout(12_000)
    assert page.evaluate("__unhandled") == []
    assert console.page_errors == []
    assert not [text for text in console.errors if "allegro" in text or "Uncaught" in text]
    kept = page.evaluate(
        """Object.values(Object.fromEntries(Object.entries(localStorage)
            .filter(([k]) => k.startsWith('allegro_outbox:'))))
            .flatMap((v) => JSON.parse(v).map((entry) => JSON.parse(entry[2]).event_name))"""
    )
    assert kept == ["page_view"]
