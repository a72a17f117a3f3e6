"""The elements an HTML text creates, read with the standard library's parser: for checking that
stored event data shows as text and never becomes markup."""

from __future__ import annotations

from html.parser import HTMLParser

# Every element the live view's own templates make for an event or a notice.
LIVE_ELEMENTS = {
    *("li", "details", "summary", "div", "span", "time", "p", "code", "strong"),
    *("dl", "dt", "dd", "h3", "pre"),
}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> tuple[list[tuple[str, dict[str, str | None]]], str]:
    """The elements (tag and attributes, in order) and the text (references decoded)."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements, "".join(parser.text)
