"""The demo's tiny template language."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_site.server import PAGES
from demo_site.templates import TEMPLATES, TemplateError, render_template


def test_includes_and_values(tmp_path: Path) -> None:
    (tmp_path / "_part.html").write_text("<b>{{ who }}</b>")
    (tmp_path / "page.html").write_text("<p>{{> _part.html}} and {{what}}</p>")
    html = render_template("page.html", {"who": "<i>", "what": "x"}, tmp_path)
    assert html == "<p><b><i></b> and x</p>"  # values are inserted as given


def test_a_placeholder_without_a_value_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>{{missing}}</p>")
    with pytest.raises(TemplateError, match=r"page.html: no value for \{\{missing\}\}"):
        render_template("page.html", {}, tmp_path)


def test_includes_cannot_loop(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("{{> a.html}}")
    with pytest.raises(TemplateError, match="too deeply"):
        render_template("a.html", {}, tmp_path)


def test_json_in_pages_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text('{"a": {"b": 1}} {{x}}')
    assert render_template("page.html", {"x": "y"}, tmp_path) == '{"a": {"b": 1}} y'


@pytest.mark.parametrize("template", sorted({*PAGES.values(), "live.html", "not-found.html"}))
def test_every_page_template_renders_with_the_sites_values(template: str) -> None:
    values = {"collector": "http://c", "nonce": "n"}
    if template == "live.html":
        values |= dict.fromkeys(("events", "status", "feed_url", "all_current", "mine_current"), "")
    html = render_template(template, values, TEMPLATES)
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert html.count('<script async src="/static/allegro.js"') == 1
