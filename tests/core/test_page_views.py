"""Automatic page views for single-page apps: when a route change is a page view, its title, its
referer, and folding the page's own page_view into the automatic one."""

from __future__ import annotations

from collections.abc import Callable

from allegro_sdk.core.errors import DeliveryError, TrackingError
from allegro_sdk.core.page_views import TITLE_WAIT_MS, AutoPageViews

from .fakes import Clock


class Browser:
    """The page's address and title, timers and animation frames, all driven by the test."""

    def __init__(self) -> None:
        self.href = "https://app.example/a"
        self.title = "A"
        self.clock = Clock(0)
        self.timers: list[tuple[int, Callable[[], None]]] = []
        self.frames: list[Callable[[], None]] = []

    def schedule(self, delay: int, task: Callable[[], None]) -> None:
        self.timers.append((self.clock.now + delay, task))

    def next_frame(self, task: Callable[[], None]) -> None:
        self.frames.append(task)

    def frame(self) -> None:
        frames, self.frames = self.frames, []
        for task in frames:
            task()

    def advance(self, ms: int) -> None:
        """Let `ms` pass, running due timers in order."""
        end = self.clock.now + ms
        while True:
            due = sorted((at, i) for i, (at, _) in enumerate(self.timers) if at <= end)
            if not due:
                break
            at, index = due[0]
            _, task = self.timers.pop(index)
            self.clock.now = at
            task()
        self.clock.now = end


class Tracked:
    """The tracker: records each call and lets the test settle it."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.calls: list[tuple[str, object, str, str]] = []
        self.callbacks: list[tuple[Callable[[str], None], Callable[[TrackingError], None]]] = []

    def __call__(
        self,
        name: object,
        data: object,
        resolve: Callable[[str], None],
        reject: Callable[[TrackingError], None],
    ) -> str | None:
        event_id = f"ev-{len(self.calls) + 1}"
        self.calls.append((str(name), data, self.browser.href, self.browser.title))
        self.callbacks.append((resolve, reject))
        return event_id

    def store(self, index: int) -> None:
        self.callbacks[index][0](f"ev-{index + 1}")


def setup(prerendering: bool = False) -> tuple[Browser, Tracked, AutoPageViews]:
    browser = Browser()
    tracked = Tracked(browser)
    views = AutoPageViews(
        tracked,
        lambda: browser.href,
        lambda: browser.title,
        browser.schedule,
        browser.next_frame,
        browser.clock,
    )
    views.start(prerendering)
    return browser, tracked, views


def navigate(browser: Browser, views: AutoPageViews, href: str) -> None:
    browser.href = href
    views.route_changed()


def test_a_page_view_on_load() -> None:
    _, tracked, _ = setup()
    assert tracked.calls == [("page_view", None, "https://app.example/a", "A")]


def test_a_route_change_waits_for_the_frame_and_the_new_title() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/b?tab=1")
    browser.frame()
    browser.advance(100)
    assert len(tracked.calls) == 1  # the title has not changed yet
    browser.title = "B"
    browser.advance(50)
    assert tracked.calls[1] == (
        "page_view",
        {"referer": "https://app.example/a"},
        "https://app.example/b?tab=1",
        "B",
    )


def test_a_title_set_before_the_frame_is_read_at_the_frame() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/b")
    browser.title = "B"
    browser.frame()
    assert tracked.calls[1][3] == "B"


def test_a_title_that_does_not_change_is_read_after_500_ms() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/b")
    browser.frame()
    browser.advance(TITLE_WAIT_MS - 50)
    assert len(tracked.calls) == 1
    browser.advance(50)
    assert tracked.calls[1][2:] == ("https://app.example/b", "A")


def test_without_animation_frames_the_view_still_comes_after_500_ms() -> None:
    browser, tracked, views = setup()  # a hidden tab gets no frames
    navigate(browser, views, "https://app.example/b")
    browser.title = "B"
    browser.advance(TITLE_WAIT_MS)
    assert tracked.calls[1][2:] == ("https://app.example/b", "B")


def test_same_address_and_fragment_changes_are_not_page_views() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/a")
    navigate(browser, views, "https://app.example/a#comments")
    browser.frame()
    browser.advance(1000)
    assert len(tracked.calls) == 1


def test_a_route_left_before_its_view_is_not_counted_the_next_one_is() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/redirecting")
    navigate(browser, views, "https://app.example/c")
    browser.title = "C"
    browser.frame()
    browser.advance(1000)
    assert [call[2] for call in tracked.calls] == ["https://app.example/a", "https://app.example/c"]
    assert tracked.calls[1][1] == {"referer": "https://app.example/redirecting"}


def test_the_pages_own_page_view_is_folded_into_the_automatic_one() -> None:
    _browser, tracked, views = setup()
    settled: list[str] = []
    views.track("page_view", None, settled.append, lambda error: None)
    assert len(tracked.calls) == 1
    tracked.store(0)
    assert settled == ["ev-1"]
    views.track(" page_view ", {}, settled.append, lambda error: None)
    assert settled == ["ev-1", "ev-1"]  # already stored: settles at once
    # Other events and other addresses go through.
    views.track("purchase", {"data": {"price": 1}}, settled.append, lambda error: None)
    assert tracked.calls[1][:2] == ("purchase", {"data": {"price": 1}})


def test_a_folded_call_adds_its_fields_while_the_view_waits_for_its_title() -> None:
    browser, tracked, views = setup()
    navigate(browser, views, "https://app.example/b")
    settled: list[str] = []
    views.track("page_view", {"content_id": "b-1"}, settled.append, lambda error: None)
    browser.title = "B"
    browser.frame()
    assert tracked.calls[1][1] == {"content_id": "b-1", "referer": "https://app.example/a"}
    tracked.store(1)
    assert settled == ["ev-2"]


def test_a_refused_automatic_view_rejects_the_folded_calls() -> None:
    _, tracked, views = setup()
    refused: list[str] = []
    views.track("page_view", None, lambda event_id: None, lambda e: refused.append(e.message))
    tracked.callbacks[0][1](DeliveryError("the collector refused the event: x"))
    assert refused == ["the collector refused the event: x"]


def test_a_page_view_for_another_address_or_with_bad_data_is_tracked_as_asked() -> None:
    _browser, tracked, views = setup()
    views.track("page_view", "not an object", lambda e: None, lambda e: None)
    views.track("page_view", {"url": "x"}, lambda e: None, lambda e: None)  # same address: folded
    assert [call[1] for call in tracked.calls] == [None, "not an object"]


def test_a_prerendered_page_counts_its_view_on_activation() -> None:
    browser, tracked, views = setup(prerendering=True)
    assert tracked.calls == []
    browser.title = "Shown"
    views.activated()
    views.activated()
    assert tracked.calls == [("page_view", None, "https://app.example/a", "Shown")]


def test_a_back_forward_cache_restore_is_a_new_page_view() -> None:
    _browser, tracked, views = setup()
    views.restored()
    assert [call[2] for call in tracked.calls] == ["https://app.example/a"] * 2
