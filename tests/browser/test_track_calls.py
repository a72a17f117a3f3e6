"""What a track() call does in the caller's task, and what it leaves to a later one
(docs/sdk.md, "What a call costs the page"), in real Chromium."""

from __future__ import annotations

from collections import Counter

from playwright.sync_api import Page

from .conftest import Site
from .pages import host_page, sdk_tag, snippet, wait_until
from .test_delivery import names, open_page, wait_for_all


def test_track_returns_before_the_event_is_built_and_keeps_the_time_of_the_call(
    site: Site, page: Page
) -> None:
    """The page's task goes on at once; the event is built afterwards, stamped with the call's
    time."""
    open_page(site, page, "call-time")
    [name] = names("timed", 1)
    called_at, returned_at, event_id = page.evaluate(
        """async (name) => {
            const calledAt = Date.now();
            const promise = allegro.track(name);
            const returnedAt = Date.now();
            const busyUntil = Date.now() + 300;  // the page's handler goes on working
            while (Date.now() < busyUntil) {}
            return [calledAt, returnedAt, (await promise).event_id];
        }""",
        name,
    )
    assert returned_at - called_at < 50
    [stored] = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert called_at <= int(str(stored["timestamp"])) < called_at + 50


def test_a_page_left_in_the_task_that_tracked_sends_the_event(site: Site, page: Page) -> None:
    """A click handler that tracks and navigates at once: the calls are handled as the page goes
    (sent then, or left in the outbox for the site's next page, which sends them)."""
    open_page(site, page, "leave-at-once")
    events = names("left", 3)
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    target = site.add_page("left-to", host_page(head, "next"), None)
    page.evaluate(
        """([names, target]) => {
            for (const n of names) allegro.track(n);
            location.href = target;
        }""",
        [events, target],
    )
    page.wait_for_url(target)
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_calls_not_handled_yet_are_saved_when_the_page_is_hidden_in_the_same_task(
    site: Site, page: Page
) -> None:
    """pagehide in the very task that tracked: the calls are handled then, and their events are
    in the outbox (or on their way) before the page can go."""
    open_page(site, page, "hidden-at-once")
    events = names("hidden", 3)
    saved = page.evaluate(
        """(names) => {
            for (const n of names) allegro.track(n);
            window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}));
            return Object.keys(localStorage)
                .filter((key) => key.startsWith('allegro_outbox:'))
                .map((key) => localStorage.getItem(key)).join('');
        }""",
        events,
    )
    assert all(name in saved for name in events)
    assert wait_for_all(site, page, events) == Counter({name: 1 for name in events})


def test_calls_are_handled_in_the_order_they_were_made(site: Site, page: Page) -> None:
    open_page(site, page, "order")
    events = names("ordered", 5)
    ids = page.evaluate(
        """async (names) => {
            const promises = names.map((n) => allegro.track(n));
            const view = allegro.track('page_view');  // later events point to it
            return (await Promise.all([...promises, view])).map((r) => r.event_id);
        }""",
        events,
    )
    wait_until(page, "true")
    stored = {e["event_id"]: e for e in site.stored_events()}
    assert [stored[i]["event_name"] for i in ids] == [*events, "page_view"]
    times = [int(str(stored[i]["timestamp"])) for i in ids]
    assert times == sorted(times)
