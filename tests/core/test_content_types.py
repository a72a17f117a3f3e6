from __future__ import annotations

import pytest

from allegro_sdk.core.content_types import (
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    bare_type,
    known_content_type,
    normalise_content_type,
)

# The table in docs/page-metadata.md, as (declared, stored) pairs.
MAPPING = [
    # schema.org
    ("Article", "article"),
    ("NewsArticle", "article"),
    ("BlogPosting", "article"),
    ("Report", "article"),
    ("ScholarlyArticle", "article"),
    ("SocialMediaPosting", "article"),
    ("VideoObject", "video"),
    ("Movie", "video"),
    ("TVEpisode", "video"),
    ("AudioObject", "audio"),
    ("MusicRecording", "audio"),
    ("PodcastEpisode", "audio"),
    ("ImageObject", "image"),
    ("Photograph", "image"),
    ("Product", "product"),
    ("ProductGroup", "product"),
    ("Offer", "product"),
    ("Recipe", "recipe"),
    ("Event", "event"),
    ("MusicEvent", "event"),
    ("SportsEvent", "event"),
    ("Book", "book"),
    ("ProfilePage", "profile"),
    ("Person", "profile"),
    ("WebSite", "website"),
    ("WebPage", "website"),
    ("ItemPage", "website"),
    ("CollectionPage", "website"),
    # OpenGraph
    ("article", "article"),
    ("video.movie", "video"),
    ("video.episode", "video"),
    ("video.tv_show", "video"),
    ("video.other", "video"),
    ("music.song", "audio"),
    ("music.album", "audio"),
    ("music.playlist", "audio"),
    ("music.radio_station", "audio"),
    ("product", "product"),
    ("product.item", "product"),
    ("product.group", "product"),
    ("book", "book"),
    ("books.book", "book"),
    ("profile", "profile"),
    ("website", "website"),
    # Namespaced app types: by their last segment
    ("wayfairus:product", "product"),
    ("songkick-concerts:concert", "event"),
    ("myapp:recipe", "recipe"),
    ("video.unknown_kind", "video"),
    # Case, whitespace and URL prefixes do not matter
    ("  NEWSARTICLE ", "article"),
    ("http://schema.org/NewsArticle", "article"),
    ("https://schema.org/VideoObject", "video"),
    ("https://schema.org/Recipe/", "recipe"),
    ("schema:Product", "product"),
    # Unknown types give the documented default
    ("Organization", "other"),
    ("BreadcrumbList", "other"),
    ("SoftwareApplication", "other"),
    ("fb:app", "other"),
    ("", "other"),
]


@pytest.mark.parametrize(("declared", "stored"), MAPPING)
def test_mapping(declared: str, stored: str) -> None:
    assert normalise_content_type(declared) == stored


def test_the_default_is_other() -> None:
    assert DEFAULT_CONTENT_TYPE == "other"
    assert known_content_type("Organization") is None


def test_the_vocabulary_is_small() -> None:
    assert set(CONTENT_TYPES.values()) == {
        "article",
        "video",
        "audio",
        "image",
        "product",
        "recipe",
        "event",
        "book",
        "profile",
        "website",
    }


@pytest.mark.parametrize(
    ("declared", "bare"),
    [
        ("http://schema.org/NewsArticle", "newsarticle"),
        ("https://schema.org/BlogPosting", "blogposting"),
        ("http://example.com/vocab#Thing", "thing"),
        ("schema:Recipe", "recipe"),
        (" Product ", "product"),
        ("video.other", "video.other"),
    ],
)
def test_bare_type(declared: str, bare: str) -> None:
    assert bare_type(declared) == bare
