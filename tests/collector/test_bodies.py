from __future__ import annotations

from starlette.requests import Request

from allegro_collector.bodies import first_headers


def test_first_headers_gives_the_first_of_a_repeated_header_as_starlette_does() -> None:
    raw = [
        (b"content-type", b"application/json"),
        (b"x-allegro-csrf", b"first"),
        (b"x-allegro-csrf", b"second"),
    ]
    request = Request({"type": "http", "method": "POST", "headers": raw})
    headers = first_headers(request)
    assert headers[b"x-allegro-csrf"] == b"first"
    assert request.headers.get("x-allegro-csrf") == "first"
    assert headers[b"content-type"] == b"application/json"
