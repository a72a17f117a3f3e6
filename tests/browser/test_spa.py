"""Automatic page views (`data-page-views="auto"`) in real Chromium, against a real collector:
route changes, their titles and referers, folding, and the default without the attribute."""

from __future__ import annotations

from playwright.sync_api import Page

from .conftest import Console, Site, violations
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until

# A router as frameworks write it: pushState first, the title on a later task.
ROUTER = (
    "window.go = function (path, title) {"
    " history.pushState({}, '', path);"
    " setTimeout(function () { document.title = title; }, 80); };"
)


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def auto_tag(site: Site) -> str:
    return sdk_tag(site.collector_url).replace(
        "<script async", '<script async data-page-views="auto"'
    )


def views_of(site: Site, session: str) -> list[dict[str, object]]:
    events = site.stored_events(session_id=session)
    return sorted(
        (e for e in events if e["event_name"] == "page_view"),
        key=lambda e: int(str(e["timestamp"])),
    )


def session_of(page: Page) -> str:
    return str(
        wait_until(
            page,
            "(document.cookie.match(/allegro_session_id=([^;]+)/) || [])[1] || ''",
        )
    )


def wait_for_views(site: Site, page: Page, count: int) -> list[dict[str, object]]:
    session = session_of(page)
    for _ in range(150):
        views = views_of(site, session)
        if len(views) >= count:
            page.wait_for_timeout(700)  # time enough for a (wrong) extra one
            return views_of(site, session)
        page.wait_for_timeout(100)
    raise AssertionError(f"fewer than {count} page views stored: {views_of(site, session)}")


def test_route_changes_are_page_views_with_their_title_and_referer(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet(
        ROUTER + "window.allegro = window.allegro || [];"
        # The page's own page_view on load: folded into the automatic one.
        "allegro.push(function (a) { a.track('page_view').then(function (r) {"
        " window.ownView = r.event_id; }); });"
    ) + auto_tag(site)
    url = site.add_page("spa", host_page(head, "Home"), strict(site))
    base = url.rsplit("/", 1)[0]
    page.goto(url + "?from=ad#top")
    wait_until(page, "window.ownView")
    page.evaluate("go('/fixtures/spa/songs?page=2', 'Songs')")
    wait_for_views(site, page, 2)
    page.evaluate("history.replaceState({}, '', location.href)")  # same address: no view
    page.evaluate("location.hash = 'verse-2'")  # fragment only: no view
    page.evaluate("history.replaceState({}, '', '/fixtures/spa/songs?page=3')")  # a view
    wait_for_views(site, page, 3)
    page.evaluate("history.back()")  # popstate back to ?page=2 (the hash entry was replaced)
    views = wait_for_views(site, page, 4)
    songs = base + "/spa/songs?page=2"
    assert [(v["url"], v["page_title"], v["referer"]) for v in views] == [
        (url + "?from=ad", "Home", None),
        (songs, "Songs", url + "?from=ad"),
        (base + "/spa/songs?page=3", "Songs", songs),
        (songs, "Songs", base + "/spa/songs?page=3"),
    ]
    assert page.evaluate("window.ownView") == views[0]["event_id"]  # one page view, not two
    buy_id = page.evaluate("allegro.track('purchase').then(r => r.event_id)")
    [buy] = [e for e in site.stored_events() if e["event_id"] == buy_id]
    assert buy["conversion_pv_id"] == views[3]["event_id"]
    assert console.errors == []
    assert violations(page) == []


def test_without_the_attribute_route_changes_are_left_to_the_page(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet(
        ROUTER + "window.allegro = window.allegro || [];"
        "allegro.push(function (a) { a.track('page_view'); });"
    ) + sdk_tag(site.collector_url)
    serve_page(page, site, "no-spa", host_page(head, "Manual"), strict(site))
    wait_for_views(site, page, 1)
    page.evaluate("go('/fixtures/no-spa/next', 'Next')")
    page.wait_for_timeout(1500)
    views = views_of(site, session_of(page))
    assert [v["page_title"] for v in views] == ["Manual"]
    assert console.errors == []


def test_the_demo_sites_programme_is_a_single_page_app_with_automatic_page_views(
    own_site: Site, page: Page, console: Console
) -> None:
    site = own_site
    page.goto(site.url + "/programme")
    wait_until(page, "window.allegro && typeof window.allegro.track === 'function'")
    wait_for_views(site, page, 1)
    page.click("a[data-section=workshops]")
    page.wait_for_url(site.url + "/programme/workshops")
    wait_for_views(site, page, 2)
    page.click("a[data-section=family-days]")
    wait_for_views(site, page, 3)
    page.go_back()
    views = wait_for_views(site, page, 4)
    programme = site.url + "/programme"
    assert [(v["url"], v["page_title"], v["referer"]) for v in views] == [
        (programme, "Concerts | Season programme | The Daily Allegro", None),
        (programme + "/workshops", "Workshops | Season programme | The Daily Allegro", programme),
        (
            programme + "/family-days",
            "Family days | Season programme | The Daily Allegro",
            programme + "/workshops",
        ),
        (
            programme + "/workshops",
            "Workshops | Season programme | The Daily Allegro",
            programme + "/family-days",
        ),
    ]
    assert all(v["context"] == "programme" and v["publisher"] == "The Daily Allegro" for v in views)
    assert console.errors == []
    assert violations(page) == []
