"""Page metadata rules, and their accuracy on 15 real pages.

`.venv/bin/python -m tests.core.test_metadata` prints the accuracy tables of docs/page-metadata.md.
"""

from __future__ import annotations

import pytest

from allegro_sdk.core.content_types import normalise_content_type
from allegro_sdk.core.event import STRING_FIELDS
from allegro_sdk.core.metadata import page_metadata
from allegro_sdk.core.protocol import MAX_TEXT_CHARS
from tests.core.page_snapshots import real_page_snapshot, real_pages, snapshot_from_html

LOCATION = "https://news.example/story/1?ref=home#comments"


def page(**parts: object) -> dict[str, object]:
    """A snapshot with a location and title, plus `parts`."""
    snapshot: dict[str, object] = {
        "location": LOCATION,
        "referrer": "",
        "title": "A story",
        "canonical": None,
        "meta": [],
        "json_ld": [],
        "microdata": [],
    }
    snapshot.update(parts)
    return snapshot


def item(types: list[str], **props: list[object]) -> dict[str, object]:
    return {"type": types, "props": dict(props)}


# -- the browser's own values ---------------------------------------------------------------------


def test_a_bare_page_gives_url_without_fragment_and_title() -> None:
    assert page_metadata(page(title="  A story \n")) == {
        "url": "https://news.example/story/1?ref=home",
        "page_title": "A story",
    }


def test_referrer_is_the_referer_field() -> None:
    fields = page_metadata(page(referrer="https://search.example/?q=x"))
    assert fields["referer"] == "https://search.example/?q=x"


def test_an_empty_title_is_left_out() -> None:
    assert "page_title" not in page_metadata(page(title="   "))


def test_an_empty_snapshot_gives_nothing() -> None:
    assert page_metadata({}) == {}


# -- url ------------------------------------------------------------------------------------------


def test_url_is_the_address_as_visited_with_its_query() -> None:
    fields = page_metadata(page(canonical="https://news.example/canonical"))
    assert fields["url"] == "https://news.example/story/1?ref=home"


def test_campaign_parameters_stay_in_url_when_the_page_has_a_canonical_link() -> None:
    visited = "https://news.example/story?utm_source=newsletter&utm_campaign=fall-sale#top"
    fields = page_metadata(page(location=visited, canonical="https://news.example/story"))
    assert (
        fields["url"] == "https://news.example/story?utm_source=newsletter&utm_campaign=fall-sale"
    )
    assert fields["canonical_url"] == "https://news.example/story"


def test_canonical_url_canonical_link_before_og_url() -> None:
    meta = [["og:url", "https://news.example/og"]]
    assert page_metadata(page(meta=meta))["canonical_url"] == "https://news.example/og"
    fields = page_metadata(page(meta=meta, canonical="https://news.example/canonical"))
    assert fields["canonical_url"] == "https://news.example/canonical"
    meta.append(["allegro:canonical_url", "https://news.example/mine"])
    fields = page_metadata(page(meta=meta, canonical="https://news.example/canonical"))
    assert fields["canonical_url"] == "https://news.example/mine"
    assert fields["url"] == "https://news.example/story/1?ref=home"


def test_no_canonical_declared_means_no_canonical_url() -> None:
    assert "canonical_url" not in page_metadata(page())


@pytest.mark.parametrize(
    ("og_url", "url"),
    [
        ("/story/1", "https://news.example/story/1"),
        ("//cdn.example/story", "https://cdn.example/story"),
        ("https://news.example/s#part", "https://news.example/s"),
    ],
)
def test_og_url_is_made_absolute(og_url: str, url: str) -> None:
    assert page_metadata(page(meta=[["og:url", og_url]]))["canonical_url"] == url


def test_an_og_url_not_resolvable_simply_is_left_out() -> None:
    assert "canonical_url" not in page_metadata(page(meta=[["og:url", "story/1"]]))


def test_canonical_loses_its_fragment() -> None:
    fields = page_metadata(page(canonical="https://news.example/c#top"))
    assert fields["canonical_url"] == "https://news.example/c"


# -- allegro: tags --------------------------------------------------------------------------------


def test_allegro_tags_set_any_string_field_and_win() -> None:
    meta = [
        ["og:type", "article"],
        ["og:site_name", "News"],
        ["allegro:page_title", "Mine"],
        ["allegro:content_type", "premium"],
        ["allegro:content_id", "a-1"],
        ["allegro:publisher", "Daily News"],
        ["allegro:object_type", "story"],
        ["allegro:object_id", "s-9"],
        ["allegro:context", "sport"],
        ["allegro:conversion_pv_id", "pv-3"],
    ]
    fields = page_metadata(page(meta=meta))
    assert fields == {
        "url": "https://news.example/story/1?ref=home",
        "page_title": "Mine",
        "content_type": "premium",  # as given: allegro: values are not normalised
        "content_id": "a-1",
        "publisher": "Daily News",
        "object_type": "story",
        "object_id": "s-9",
        "context": "sport",
        "conversion_pv_id": "pv-3",
    }


def test_unknown_allegro_tags_are_ignored() -> None:
    assert "colour" not in page_metadata(page(meta=[["allegro:colour", "red"]]))


def test_an_empty_allegro_tag_does_not_hide_collected_values() -> None:
    meta = [["allegro:publisher", "  "], ["og:site_name", "News"]]
    assert page_metadata(page(meta=meta))["publisher"] == "News"


def test_only_the_spec_fields_come_back() -> None:
    meta = [[f"allegro:{name}", "x"] for name in STRING_FIELDS]
    assert set(page_metadata(page(meta=meta))) == set(STRING_FIELDS)


# -- trimming and caps ----------------------------------------------------------------------------


def test_values_are_trimmed_and_capped() -> None:
    long = "x" * (MAX_TEXT_CHARS + 100)
    fields = page_metadata(page(title=long, meta=[["og:site_name", "  News \n"]]))
    assert fields["page_title"] == "x" * MAX_TEXT_CHARS
    assert fields["publisher"] == "News"


def test_nul_characters_are_left_out_of_scraped_values() -> None:
    """A script may put U+0000 in the title; the collector refuses a field with one, so the page
    view would be lost: the scraped value goes without it."""
    fields = page_metadata(page(title="A\x00 story\x00", meta=[["og:site_name", "\x00"]]))
    assert fields["page_title"] == "A story"
    assert "publisher" not in fields


def test_allegro_tags_are_capped_too() -> None:
    fields = page_metadata(page(meta=[["allegro:context", "y" * 5000]]))
    assert len(fields["context"]) == MAX_TEXT_CHARS


def test_empty_values_fall_through_to_the_next_source() -> None:
    meta = [["og:site_name", " "], ["og:type", ""]]
    json_ld = [{"@type": "NewsArticle", "publisher": {"@type": "Organization", "name": "LD"}}]
    fields = page_metadata(page(meta=meta, json_ld=json_ld))
    assert (fields["publisher"], fields["content_type"]) == ("LD", "article")


def test_the_first_meta_tag_of_a_name_wins() -> None:
    meta = [["og:site_name", "First"], ["og:site_name", "Second"]]
    assert page_metadata(page(meta=meta))["publisher"] == "First"


# -- precedence between sources -------------------------------------------------------------------

ALL_SOURCES = {
    "meta": [["og:type", "video.other"], ["og:site_name", "OG"], ["article:id", "og-1"]],
    "json_ld": [
        {
            "@type": "NewsArticle",
            "identifier": "ld-1",
            "publisher": {"@type": "Organization", "name": "LD"},
        }
    ],
    "microdata": [item(["https://schema.org/Recipe"], sku=["md-1"], publisher=["MD"])],
}


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ((), ("video", "OG", "og-1")),
        (("meta",), ("article", "LD", "ld-1")),
        (("meta", "json_ld"), ("recipe", "MD", "md-1")),
        (("meta", "json_ld", "microdata"), (None, None, None)),
    ],
)
def test_meta_tags_then_json_ld_then_microdata(
    dropped: tuple[str, ...], expected: tuple[str | None, ...]
) -> None:
    parts = {key: value for key, value in ALL_SOURCES.items() if key not in dropped}
    fields = page_metadata(page(**parts))
    found = (fields.get("content_type"), fields.get("publisher"), fields.get("content_id"))
    assert found == expected


@pytest.mark.parametrize(
    "key",
    ["article:id", "og:article:id", "article.id", "parsely-post-id", "dcsext.contentid"],
)
def test_well_known_content_id_tags(key: str) -> None:
    assert page_metadata(page(meta=[[key, " 42 "]]))["content_id"] == "42"


@pytest.mark.parametrize("hint", ["shortlink", "al:ios:url", "al:android:url", "og:upc"])
def test_hints_are_not_content_ids(hint: str) -> None:
    assert "content_id" not in page_metadata(page(meta=[[hint, "x://p/42"]]))


def test_twitter_tags_are_not_used() -> None:
    meta = [["twitter:site", "@news"], ["twitter:card", "player"], ["twitter:title", "T"]]
    assert page_metadata(page(meta=meta, title="")) == {
        "url": "https://news.example/story/1?ref=home"
    }


def test_context_from_article_section() -> None:
    assert page_metadata(page(meta=[["article:section", "Tech"]]))["context"] == "Tech"
    json_ld = [{"@type": "Article", "articleSection": ["World", "Europe"]}]
    assert page_metadata(page(json_ld=json_ld))["context"] == "World"
    microdata = [item(["http://schema.org/NewsArticle"], articleSection=["", "Sport"])]
    assert page_metadata(page(microdata=microdata))["context"] == "Sport"


def test_unknown_declared_type_is_other() -> None:
    assert page_metadata(page(meta=[["og:type", "fb:app"]]))["content_type"] == "other"


# -- JSON-LD --------------------------------------------------------------------------------------


def ld(*blocks: object) -> dict[str, str]:
    return page_metadata(page(json_ld=list(blocks)))


def test_graph_with_id_references() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "@id": "#org", "name": "The Daily"},
            {"@type": "WebSite", "@id": "#site", "publisher": {"@id": "#org"}},
            {"@type": "ImageObject", "@id": "#img", "url": "https://i.example/1.jpg"},
            {"@type": "WebPage", "@id": "#page", "primaryImageOfPage": {"@id": "#img"}},
            {
                "@type": "BlogPosting",
                "mainEntityOfPage": {"@id": "#page"},
                "publisher": {"@id": "#org"},
                "identifier": {"@type": "PropertyValue", "propertyID": "cms", "value": 991},
            },
        ],
    }
    fields = ld(graph)
    assert (fields["content_type"], fields["publisher"], fields["content_id"]) == (
        "article",
        "The Daily",
        "991",
    )


def test_main_entity_of_a_web_page() -> None:
    block = {
        "@type": "ItemPage",
        "mainEntity": {"@id": "#p"},
        "publisher": {"@type": "Organization", "name": "Shop"},
    }
    product = {"@type": "Product", "@id": "#p", "sku": "SKU-1", "productID": "x"}
    fields = ld(block, product)
    assert (fields["content_type"], fields["content_id"], fields["publisher"]) == (
        "product",
        "SKU-1",
        "Shop",  # the main entity has none, so another top-level node's
    )


def test_content_nodes_before_page_wrappers_and_site_nodes() -> None:
    fields = ld(
        {"@type": "WebSite", "name": "Site"},
        {"@type": "BreadcrumbList", "itemListElement": []},
        {"@type": "WebPage"},
        {"@type": "Recipe", "identifier": ["", "r-7"]},
    )
    assert (fields["content_type"], fields["content_id"]) == ("recipe", "r-7")


def test_only_a_page_wrapper_gives_its_type() -> None:
    assert ld({"@type": "ItemPage"}, {"@type": "BreadcrumbList"})["content_type"] == "website"


def test_only_site_nodes_declare_no_content_type() -> None:
    fields = ld({"@type": "Organization", "name": "Org"}, {"@type": "BreadcrumbList"})
    assert "content_type" not in fields
    assert "publisher" not in fields  # an Organization node's name is not taken as publisher


def test_type_lists_and_type_urls() -> None:
    assert ld({"@type": ["Thing", "http://schema.org/VideoObject"]})["content_type"] == "video"
    assert ld({"@type": "https://schema.org/PodcastEpisode"})["content_type"] == "audio"


def test_unknown_main_type_is_other() -> None:
    assert ld({"@type": "SoftwareApplication", "sku": "app-1"})["content_type"] == "other"


def test_nested_lists_and_type_less_wrappers() -> None:
    wrapped = {
        "@context": "http://schema.org",
        "article": {"@type": "NewsArticle", "publisher": "R"},
    }
    assert ld([[wrapped]])["publisher"] == "R"


def test_nested_nodes_are_not_the_main_entity() -> None:
    block = {
        "@type": "Event",
        "location": {"@type": "Place", "name": "Hall"},
        "offers": {"@type": "Offer", "sku": "ticket-1"},
    }
    assert ld(block)["content_type"] == "event"
    assert "content_id" not in ld(block)


@pytest.mark.parametrize(
    "junk",
    [
        None,
        42,
        "text",
        True,
        [None, 1, "x", []],
        {"@graph": "not a list"},
        {"@type": 7, "identifier": {"value": None}, "publisher": [1, {"name": 2.5}]},
        {"@type": [], "mainEntity": "x", "mainEntityOfPage": True},
        {"@type": "Article", "publisher": {"@id": "#nowhere"}, "identifier": True},
        {"@id": "#x", "@type": "WebPage", "mainEntity": {"@id": "#x"}},
    ],
)
def test_any_json_shape_is_tolerated(junk: object) -> None:
    fields = ld(junk)
    assert set(fields) <= set(STRING_FIELDS)


def test_json_ld_need_not_be_a_list() -> None:
    fields = page_metadata(page(json_ld={"@type": "Recipe"}))
    assert fields["content_type"] == "recipe"


def test_deep_nesting_is_cut_off_quietly() -> None:
    deep: object = {"@type": "Recipe"}
    for _ in range(500):
        deep = [deep]
    assert "content_type" not in ld(deep)


def test_whole_number_identifiers_become_text() -> None:
    assert ld({"@type": "Product", "productID": 12.0})["content_id"] == "12"
    assert "content_id" not in ld({"@type": "Product", "productID": 1.5})


# -- microdata ------------------------------------------------------------------------------------


def test_microdata_main_item_publisher_and_id() -> None:
    microdata = [
        item(["http://schema.org/WebPage"], name=["Page"]),
        item(
            ["http://schema.org/BlogPosting"],
            postId=["123"],
            publisher=[item(["http://schema.org/Organization"], name=["Blog Co"])],
        ),
    ]
    fields = page_metadata(page(microdata=microdata))
    assert (fields["content_type"], fields["content_id"], fields["publisher"]) == (
        "article",
        "123",
        "Blog Co",
    )


def test_microdata_declared_main_entity_wins() -> None:
    microdata = [
        item(["https://schema.org/Product"], sku=["p-1"]),
        item(["https://schema.org/VideoObject"], mainEntityOfPage=["x"], identifier=["v-1"]),
    ]
    fields = page_metadata(page(microdata=microdata))
    assert (fields["content_type"], fields["content_id"]) == ("video", "v-1")


def test_microdata_junk_is_tolerated() -> None:
    microdata = [None, "x", {"type": "not a list", "props": []}, {"props": {"sku": [None]}}]
    assert "content_id" not in page_metadata(page(microdata=microdata))


def test_malformed_meta_is_tolerated() -> None:
    meta = [None, ["only-key"], ["og:site_name", None], [1, 2, 3], ("og:type", "recipe")]
    assert page_metadata(page(meta=meta))["content_type"] == "recipe"
    assert page_metadata(page(meta="junk"))["page_title"] == "A story"


# -- the stdlib snapshot builder the real-page test relies on -------------------------------------

HTML = """<!doctype html><html><head>
<base href="/base/">
<title>
  A   title\t here </title>
<meta property="OG:Type" content="article"><meta name="Description" content=" as is ">
<meta charset="utf-8"><meta http-equiv="x" content="y">
<link rel="Canonical alternate" href="../c?x=1">
<script type="application/ld+json">{"@type": "Recipe"}</script>
<script type="application/ld+json">{not json</script>
</head><body>
<div itemprop="blogPost" itemscope itemtype="http://schema.org/BlogPosting">
  <meta itemprop="postId" content="55"><a itemprop="url" href="p">link</a>
  <span itemprop="publisher" itemscope><span itemprop="name"> The   Blog </span></span>
</div>
<div itemscope itemtype="http://schema.org/Thing"><img itemprop="image" src="i.png"></div>
</body></html>"""


def test_snapshot_from_html_mirrors_the_browser() -> None:
    snapshot = snapshot_from_html(HTML, "https://b.example/dir/page#x", "https://r.example/")
    assert snapshot == {
        "location": "https://b.example/dir/page#x",
        "referrer": "https://r.example/",
        "title": "A title here",
        "canonical": "https://b.example/c?x=1",
        "meta": [["og:type", "article"], ["description", " as is "]],
        "json_ld": [{"@type": "Recipe"}],
        "microdata": [
            {
                "type": ["http://schema.org/BlogPosting"],
                "props": {
                    "postId": ["55"],
                    "url": ["https://b.example/base/p"],
                    "publisher": [{"type": [], "props": {"name": ["The Blog"]}}],
                },
            },
            {
                "type": ["http://schema.org/Thing"],
                "props": {"image": ["https://b.example/base/i.png"]},
            },
        ],
    }


# -- accuracy on the real pages -------------------------------------------------------------------

PAGES = sorted(real_pages())
MEASURED_FIELDS = ("url", "canonical_url", "page_title", "content_type", "content_id", "publisher")
# (page, field) -> (what page_metadata returns, why it differs from expected.json). Kept equal to
# the actual misses by test_misses_are_exactly_the_documented_ones: a fix or a regression fails it.
KNOWN_MISSES: dict[tuple[str, str], tuple[str | None, str]] = {}


def expected_fields(name: str) -> dict[str, str | None]:
    """expected.json's values for one page, in page_metadata()'s terms."""
    expected = real_pages()[name]["expected"]
    assert isinstance(expected, dict)
    declared = expected["content_type"]
    return {
        "url": expected["url"],
        "canonical_url": expected["canonical_url"],
        "page_title": expected["page_title"],
        "content_type": normalise_content_type(declared) if declared else None,
        "content_id": expected["content_id"],
        "publisher": expected["publisher"],
    }


def misses() -> dict[tuple[str, str], str | None]:
    """Every (page, field) where page_metadata() differs from expected, with what it returns."""
    found: dict[tuple[str, str], str | None] = {}
    for name in PAGES:
        fields = page_metadata(real_page_snapshot(name))
        for field, value in expected_fields(name).items():
            if fields.get(field) != value:
                found[(name, field)] = fields.get(field)
    return found


def accuracy_tables() -> str:
    """The per-field and per-page accuracy tables of docs/page-metadata.md, in Markdown."""
    found = misses()
    lines = ["| field | right | missed on |", "|---|---|---|"]
    for field in MEASURED_FIELDS:
        missed = [name for name in PAGES if (name, field) in found]
        right = len(PAGES) - len(missed)
        lines.append(f"| `{field}` | {right}/{len(PAGES)} | {', '.join(missed) or '-'} |")
    lines += ["", "| page | " + " | ".join(MEASURED_FIELDS) + " |"]
    lines.append("|---" * (len(MEASURED_FIELDS) + 1) + "|")
    for name in PAGES:
        marks = ["miss" if (name, field) in found else "ok" for field in MEASURED_FIELDS]
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("field", MEASURED_FIELDS)
def test_real_page(name: str, field: str) -> None:
    returned = page_metadata(real_page_snapshot(name)).get(field)
    if (name, field) in KNOWN_MISSES:
        assert returned == KNOWN_MISSES[(name, field)][0]
    else:
        assert returned == expected_fields(name)[field]


def test_misses_are_exactly_the_documented_ones() -> None:
    assert misses() == {key: value for key, (value, _) in KNOWN_MISSES.items()}


def test_real_pages_return_only_spec_fields() -> None:
    for name in PAGES:
        assert set(page_metadata(real_page_snapshot(name))) <= set(STRING_FIELDS)


if __name__ == "__main__":
    print(accuracy_tables())


# -- more standard sources: app names for the publisher, product ids -------------------------------


@pytest.mark.parametrize(
    ("meta", "json_ld", "publisher"),
    [
        ([["og:site_name", "Site"], ["application-name", "App"]], [], "Site"),
        (
            [["application-name", "App"]],
            [{"@type": "Article", "publisher": {"name": "Pub"}}],
            "Pub",
        ),
        ([["al:ios:app_name", "iOS app"], ["application-name", "App"]], [], "App"),
        ([["al:android:app_name", "Android app"], ["al:ios:app_name", "iOS app"]], [], "iOS app"),
        ([["al:android:app_name", "Android app"]], [], "Android app"),
        ([["al:web:app_name", "Web app"]], [], "Web app"),
    ],
)
def test_publisher_falls_back_to_app_names_last(
    meta: list[list[str]], json_ld: list[object], publisher: str
) -> None:
    assert page_metadata(page(meta=meta, json_ld=json_ld))["publisher"] == publisher


def test_open_graph_product_retailer_item_id_is_a_content_id() -> None:
    meta = [["og:type", "product"], ["product:retailer_item_id", "SKU-1"]]
    assert page_metadata(page(meta=meta))["content_id"] == "SKU-1"
    meta = [["og:product:retailer_item_id", "SKU-2"]]
    assert page_metadata(page(meta=meta))["content_id"] == "SKU-2"
    meta = [["product:retailer_item_id", "SKU-3"]]
    product = {"@type": "Product", "sku": "from-json-ld"}
    assert page_metadata(page(meta=meta, json_ld=[product]))["content_id"] == "SKU-3"


@pytest.mark.parametrize(
    ("properties", "content_id"),
    [
        ({"sku": "S", "gtin13": "4006381333931"}, "S"),
        ({"productID": "isbn:123", "gtin": "G"}, "isbn:123"),
        ({"gtin13": "4006381333931", "gtin8": "96385074"}, "4006381333931"),
        ({"gtin14": "14", "gtin12": "12"}, "14"),
        ({"gtin12": "036000291452"}, "036000291452"),
        ({"gtin8": 96385074}, "96385074"),
        ({"gtin": "00012345600012"}, "00012345600012"),
    ],
)
def test_json_ld_product_ids(properties: dict[str, object], content_id: str) -> None:
    product = {"@type": "Product", "name": "A lamp", **properties}
    assert page_metadata(page(json_ld=[product]))["content_id"] == content_id


def test_microdata_gtin_is_a_content_id() -> None:
    product = item(["https://schema.org/Product"], gtin13=["4006381333931"])
    assert page_metadata(page(microdata=[product]))["content_id"] == "4006381333931"
