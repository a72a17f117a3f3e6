"""allegro.member in real Chromium against the real collector: login, logout, current()."""

from __future__ import annotations

import time

import httpx
import jwt
from playwright.sync_api import Browser, Page

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until


def open_sdk_page(site: Site, page: Page, name: str) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(
        page, site, name, host_page(head, name), STRICT_CSP.format(collector=site.collector_url)
    )
    wait_until(page, "typeof window.allegro.track === 'function'")


def login(page: Page, customer_id: str, token: str) -> dict[str, object]:
    """Run member.login(); returns {'ok': value} or {'error': message}."""
    outcome: dict[str, object] = page.evaluate(
        """([customer_id, token]) => allegro.member.login({customer_id, token}).then(
            (member) => ({ok: member}), (error) => ({error: error.message}))""",
        [customer_id, token],
    )
    return outcome


def track(page: Page, name: str = "page_view") -> str:
    result: dict[str, str] = page.evaluate("(name) => allegro.track(name)", name)
    return result["event_id"]


def stored(site: Site, event_id: str) -> dict[str, object]:
    matches = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(matches) == 1, matches
    return matches[0]


def session_cookie(page: Page) -> object:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "allegro_session_id")


def test_login_attaches_the_member_to_later_events_and_survives_a_reload(
    site: Site, page: Page, console: Console
) -> None:
    open_sdk_page(site, page, "member-login")
    assert page.evaluate("allegro.member.current()") is None
    before = track(page)
    assert login(page, "reader-7", site.member_token("reader-7")) == {
        "ok": {"customer_id": "reader-7"}
    }
    assert page.evaluate("allegro.member.current()") == {"customer_id": "reader-7"}
    after = track(page, "article_read")
    assert stored(site, before)["customer_id"] is None
    assert stored(site, after)["customer_id"] == "reader-7"
    session = session_cookie(page)

    page.reload()
    wait_until(page, "typeof window.allegro.track === 'function'")
    assert page.evaluate("allegro.member.current()") == {"customer_id": "reader-7"}
    reloaded = stored(site, track(page))
    assert (reloaded["customer_id"], reloaded["session_id"]) == ("reader-7", session)
    assert console.errors == []


def cookie(page: Page, name: str) -> str:
    return next(str(c["value"]) for c in page.context.cookies() if c["name"] == name)


def test_login_moves_the_member_to_a_new_session(site: Site, page: Page, console: Console) -> None:
    """Session fixation: whoever planted the anonymous session's cookies keeps a token of an
    ended session. Events before the login stay anonymous in the old session; events after it
    carry the member in the new one; the old token renews nothing."""
    open_sdk_page(site, page, "member-rotation")
    before = track(page)
    old_session, old_token = (
        cookie(page, "allegro_session_id"),
        cookie(page, "allegro_session_token"),
    )
    assert login(page, "reader-9", site.member_token("reader-9")) == {
        "ok": {"customer_id": "reader-9"}
    }
    new_session = cookie(page, "allegro_session_id")
    assert new_session != old_session
    assert cookie(page, "allegro_session_token").split(".")[2] == new_session
    after = track(page, "article_read")
    assert (stored(site, before)["session_id"], stored(site, before)["customer_id"]) == (
        old_session,
        None,
    )
    assert (stored(site, after)["session_id"], stored(site, after)["customer_id"]) == (
        new_session,
        "reader-9",
    )
    renewal = httpx.post(
        f"{site.collector_url}/v1/sessions",
        json={
            "device_id": cookie(page, "allegro_device_id"),
            "session_id": old_session,
            "csrf_token": old_token,
        },
    ).json()
    assert renewal["session_id"] not in (old_session, new_session)
    assert renewal["customer_id"] is None
    assert console.errors == []


def test_logout_starts_a_new_session_without_the_member(site: Site, page: Page) -> None:
    open_sdk_page(site, page, "member-logout")
    assert "ok" in login(page, "reader-8", site.member_token("reader-8"))
    session = session_cookie(page)
    assert page.evaluate("allegro.member.logout().then((value) => value === null)") is True
    assert page.evaluate("allegro.member.current()") is None
    assert session_cookie(page) != session
    event = stored(site, track(page))
    assert event["customer_id"] is None
    assert event["session_id"] == session_cookie(page)


def test_forged_and_unsigned_tokens_are_refused(site: Site, page: Page, console: Console) -> None:
    open_sdk_page(site, page, "member-forged")
    forged = site.member_token("reader-9", secret="an-attacker-guessed-this-secret-value")
    assert login(page, "reader-9", forged) == {
        "error": "member.login() was refused: member token has an invalid signature (field token)"
    }
    now = int(time.time())
    claims = {"sub": "reader-9", "aud": site.url, "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    refused = login(page, "reader-9", unsigned)
    assert refused == {
        "error": "member.login() was refused: member token must be signed with HS256 (field token)"
    }
    someone_else = login(page, "reader-10", site.member_token("reader-9"))
    assert "does not match the member token's subject (sub)" in str(someone_else["error"])
    assert page.evaluate("allegro.member.current()") is None
    assert stored(site, track(page))["customer_id"] is None
    assert sum("member.login() was refused" in text for text in console.errors) == 3


def test_a_bad_call_rejects_and_never_throws(site: Site, page: Page, console: Console) -> None:
    open_sdk_page(site, page, "member-bad-call")
    outcome = page.evaluate(
        """() => {
            try {
                return allegro.member.login().then(() => 'resolved', (error) => error.message);
            } catch (error) { return 'threw ' + error; }
        }"""
    )
    usage = "member.login() needs { customer_id, token }: the token your backend signed"
    assert outcome == usage + "; got nothing"
    function_given = page.evaluate(
        "allegro.member.login(() => 1).then(() => 'resolved', (error) => error.message)"
    )
    assert function_given == usage + "; got a JavaScript Function"
    assert [text for text in console.errors if "member.login()" in text] == [
        "allegro: " + usage + "; got nothing",
        "allegro: " + usage + "; got a JavaScript Function",
    ]


def test_another_tab_knows_the_member(site: Site, page: Page) -> None:
    open_sdk_page(site, page, "member-tab-a")
    assert "ok" in login(page, "reader-11", site.member_token("reader-11"))
    other = page.context.new_page()
    open_sdk_page(site, other, "member-tab-b")
    assert other.evaluate("allegro.member.current()") == {"customer_id": "reader-11"}
    assert stored(site, track(other))["customer_id"] == "reader-11"


def test_copying_a_members_cookies_to_another_browser_is_not_enough(
    site: Site, page: Page, browser: Browser
) -> None:
    """The session and device ids are in every stored event; without the session's token (kept
    in the member's own localStorage) another browser gets a session of its own, anonymous."""
    open_sdk_page(site, page, "member-victim")
    assert "ok" in login(page, "reader-12", site.member_token("reader-12"))
    victim = stored(site, track(page))
    elsewhere = browser.new_context()
    try:
        elsewhere.add_cookies(
            [
                {"name": name, "value": str(victim[field]), "url": site.url}
                for name, field in (
                    ("allegro_device_id", "device_id"),
                    ("allegro_session_id", "session_id"),
                )
            ]
        )
        other = elsewhere.new_page()
        open_sdk_page(site, other, "member-onlooker")
        event = stored(site, track(other, "purchase"))
        assert event["customer_id"] is None
        assert event["session_id"] != victim["session_id"]
        assert other.evaluate("allegro.member.current()") is None
    finally:
        elsewhere.close()
