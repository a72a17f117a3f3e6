"""The client's address: the socket's peer, or X-Forwarded-For read from the right past trusted
proxies, and only when the peer itself is trusted."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from allegro_collector.client_address import client_address, parse_networks


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


PROXIES = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ("198.51.100.1",), "203.0.113.5"),  # not from a proxy: header ignored
        ("10.0.0.2", ("198.51.100.1",), "198.51.100.1"),
        ("10.0.0.2", ("1.2.3.4, 198.51.100.1",), "198.51.100.1"),  # the left is the client's word
        ("10.0.0.2", ("198.51.100.1, 10.0.0.3",), "198.51.100.1"),  # two proxies
        ("10.0.0.2", ("198.51.100.1", "10.0.0.3"), "198.51.100.1"),  # repeated headers
        ("10.0.0.2", ("10.0.0.4",), "10.0.0.4"),  # only proxies: the farthest one
        ("10.0.0.2", (), "10.0.0.2"),
        ("::1", ("2001:db8::7",), "2001:db8::7"),
    ],
)
def test_client_address(peer: str, forwarded: tuple[str, ...], client: str) -> None:
    assert client_address(request(peer, *forwarded), PROXIES) == client


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address(request("127.0.0.1", "198.51.100.1"), ()) == "127.0.0.1"


def test_a_wrong_proxy_is_named() -> None:
    with pytest.raises(ValueError, match="'not-an-ip' is not an IP address"):
        parse_networks(["10.0.0.1", "not-an-ip"])
