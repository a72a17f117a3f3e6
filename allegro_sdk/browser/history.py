"""The browser's side of automatic page views (`data-page-views="auto"`): route changes, animation
frames, prerendering and the back/forward cache, wired to core/page_views.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.browser.boot_js import guard, watch_history
from allegro_sdk.core.page_views import AutoPageViews

if TYPE_CHECKING:
    from allegro_sdk.core.page_views import Track


def auto_page_views(track: Track, clock: object) -> AutoPageViews:
    """Start automatic page views; the result's track() is the API's (it folds page_views)."""
    document = window.document
    views = AutoPageViews(
        track,
        lambda: str(window.location.href),
        lambda: str(document.title),
        lambda delay, task: window.setTimeout(guard(task), delay),
        lambda task: window.requestAnimationFrame(guard(lambda time: task())),
        clock,  # type: ignore[arg-type]
    )
    prerendering = bool(getattr(document, "prerendering", False))
    if prerendering:
        document.addEventListener("prerenderingchange", guard(lambda event: views.activated()))
    views.start(prerendering)
    watch_history(views.route_changed)

    def shown(event: object) -> None:
        if event.persisted:  # type: ignore[attr-defined]
            views.restored()

    window.addEventListener("pageshow", guard(shown))
    return views
