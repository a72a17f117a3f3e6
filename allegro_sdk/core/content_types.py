"""The content-type vocabulary, and how a page's declared type (schema.org, OpenGraph) maps to it.

The table is documented in docs/page-metadata.md; keep both in step.
"""

from __future__ import annotations

DEFAULT_CONTENT_TYPE = "other"

# Kinds that describe the page's content, as opposed to the page itself (website, profile).
CONTENT_KINDS = frozenset(
    ("article", "video", "audio", "image", "product", "recipe", "event", "book")
)
PAGE_KINDS = frozenset(("website", "profile"))

_DECLARED = {
    "article": (
        "article newsarticle blogposting socialmediaposting liveblogposting report "
        "scholarlyarticle techarticle analysisnewsarticle opinionnewsarticle reportagenewsarticle "
        "reviewnewsarticle backgroundnewsarticle askpublicnewsarticle satiricalarticle "
        "advertisercontentarticle discussionforumposting"
    ),
    "video": "video videoobject movie tvepisode tvseason tvseries clip videogallery",
    "audio": (
        "audio audioobject music musicrecording musicalbum musicplaylist podcastepisode "
        "podcastseries podcastseason radioepisode radioseries"
    ),
    "image": "image imageobject photograph imagegallery",
    "product": (
        "product productgroup productmodel individualproduct someproducts offer aggregateoffer "
        "vehicle car"
    ),
    "recipe": "recipe",
    "event": (
        "event musicevent sportsevent theaterevent festival businessevent comedyevent danceevent "
        "educationevent exhibitionevent foodevent literaryevent screeningevent socialevent "
        "childrensevent saleevent eventseries concert"
    ),
    "book": "book audiobook",
    "profile": "profile profilepage person",
    "website": (
        "website webpage itempage collectionpage aboutpage contactpage searchresultspage faqpage "
        "qapage checkoutpage medicalwebpage"
    ),
}

# OpenGraph's dotted types whose first segment alone would mislead (music.* is audio, not "music").
_DOTTED = {
    "video.movie": "video",
    "video.episode": "video",
    "video.tv_show": "video",
    "video.other": "video",
    "music.song": "audio",
    "music.album": "audio",
    "music.playlist": "audio",
    "music.radio_station": "audio",
    "books.book": "book",
    "books.author": "profile",
    "books.genre": "website",
    "product.item": "product",
    "product.group": "product",
}


def _table() -> dict[str, str]:
    table = {name: kind for kind, names in _DECLARED.items() for name in names.split()}
    table.update(_DOTTED)
    return table


CONTENT_TYPES = _table()


def bare_type(declared: str) -> str:
    """Lower-cased, without a URL or `schema:` prefix ("http://schema.org/Movie" -> "movie")."""
    name = declared.strip().lower()
    if "://" in name:
        name = name.rstrip("/#")
        name = name[max(name.rfind("/"), name.rfind("#")) + 1 :]
    if name.startswith("schema:"):
        name = name[len("schema:") :]
    return name


def known_content_type(declared: str) -> str | None:
    """The vocabulary word for a declared type, or None when the table does not know it.

    Tried in turn: the whole type, its last `:` segment ("wayfairus:product" -> "product"), and
    that segment's part before a dot ("product.item" when not in the table -> "product").
    """
    name = bare_type(declared)
    last = name.rsplit(":", 1)[-1]
    for key in (name, last, last.split(".", 1)[0]):
        if key in CONTENT_TYPES:
            return CONTENT_TYPES[key]
    return None


def normalise_content_type(declared: str) -> str:
    """The vocabulary word for a declared type; unknown types give DEFAULT_CONTENT_TYPE."""
    return known_content_type(declared) or DEFAULT_CONTENT_TYPE
