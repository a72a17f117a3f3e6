"""The demo's Jinja templates: every page renders, values are escaped, a missing value raises."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from demo_site.live import LiveFilter, event_views
from demo_site.server import PAGES, TEMPLATE_DIR, template_environment

PAGE_TEMPLATES = sorted({*PAGES.values(), "live.html", "dashboard.html", "not-found.html"})
LIVE_VALUES = {
    "events": [],
    "problem": None,
    "status": "",
    "only_mine": False,
    "feed_url": "/f",
    "filters": LiveFilter(),
}


DASHBOARD_VALUES = {"windows": [], "delivery": None, "problem": "none yet"}


def render(page: str, collector: str, nonce: str, **values: object) -> str:
    """The template `page` with the collector's address and the response's nonce filled in, as
    the site's handlers fill them."""
    return (
        template_environment().get_template(page).render(collector=collector, nonce=nonce, **values)
    )


def values_for(template: str) -> dict[str, object]:
    return {"live.html": LIVE_VALUES, "dashboard.html": DASHBOARD_VALUES}.get(template, {})


@pytest.mark.parametrize("template", PAGE_TEMPLATES)
def test_every_page_template_renders_with_the_sites_values(template: str) -> None:
    html = render(template, "http://c", "n", **values_for(template))
    assert html.startswith("<!doctype html>") and html.endswith("</html>\n")
    # The privacy page alone runs the SDK in opt-in mode, behind its consent banner.
    mode = ' data-consent="opt-in"' if template == "privacy.html" else ""
    tag = f'<script async src="/static/allegro.js" data-collector="http://c"{mode}>'
    assert html.count(tag) == 1
    assert html.count('<script nonce="n">') == 1
    assert "{{" not in html and "{%" not in html and "\n\n" not in html


@pytest.mark.parametrize("template", PAGE_TEMPLATES)
def test_a_page_without_a_value_it_needs_raises(template: str) -> None:
    with pytest.raises(jinja2.UndefinedError, match="'nonce' is undefined"):
        template_environment().get_template(template).render(
            collector="http://c", **values_for(template)
        )


def test_the_live_page_needs_its_own_values() -> None:
    for missing in LIVE_VALUES:
        values = {key: value for key, value in LIVE_VALUES.items() if key != missing}
        with pytest.raises(jinja2.UndefinedError, match=f"'{missing}' is undefined"):
            render("live.html", "http://c", "n", **values)


def test_values_are_html_escaped_in_text_and_attributes() -> None:
    html = render("not-found.html", 'http://c/"><script>alert(1)</script>', "n")
    assert 'data-collector="http://c/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert html.count("<script") == 3  # the snippet, the SDK tag, demo.js: nothing injected


def test_html_files_are_autoescaped_and_includes_work(tmp_path: Path) -> None:
    (tmp_path / "_part.html").write_text("<b>{{ who }}</b>\n")
    (tmp_path / "page.html").write_text('<p>\n{% include "_part.html" %}\n{{ what }}</p>\n')
    environment = template_environment(tmp_path)
    html = environment.get_template("page.html").render(who="<i>", what="a & b")
    assert html == "<p>\n<b>&lt;i&gt;</b>\na &amp; b</p>\n"
    with pytest.raises(jinja2.UndefinedError, match="'what' is undefined"):
        environment.get_template("page.html").render(who="x")


def test_no_template_turns_escaping_off() -> None:
    """Everything a template shows is our own text or an escaped value: no |safe, no
    {% autoescape false %} (untrusted event data must never be marked safe)."""
    environment = template_environment()
    for path in sorted(TEMPLATE_DIR.glob("*.html")):
        tree = environment.parse(path.read_text("utf-8"))
        assert [f.name for f in tree.find_all(nodes.Filter) if f.name == "safe"] == [], path.name
        assert list(tree.find_all(nodes.EvalContextModifier)) == [], path.name


def test_the_events_fragment_renders_alone() -> None:
    fragment = template_environment().get_template("_events.html")
    event = {"event_id": "e1", "event_name": "page_view", "device_id": "d", "session_id": "s"}
    html = fragment.render(events=event_views([event], None), problem=None)
    assert html.startswith('<li class="event" data-event-id="e1">')
    assert fragment.render(events=[], problem="it broke <here>") == (
        '<li class="notice unavailable">Cannot show events: it broke &lt;here&gt;.</li>\n'
    )
    with pytest.raises(jinja2.UndefinedError, match="'problem' is undefined"):
        fragment.render(events=[])
