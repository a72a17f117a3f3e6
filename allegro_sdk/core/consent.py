"""The visitor's consent: whether the SDK may store anything on the device and send anything.

Three statuses. GRANTED: tracking as usual. DENIED: nothing is stored or sent; track() resolves
with `stored: false`. PENDING (opt-in mode, until the visitor chooses): nothing is stored or sent
either, and tracked events wait in memory (at most MAX_WAITING) until grant() sends them or
deny() drops them (docs/privacy.md).

The status is, in order: the choice recorded in the `allegro_consent` cookie (which every tab and
page of the site shares), else this page's own choice (where the cookie cannot be stored), else
the mode's default: PENDING in opt-in mode; otherwise DENIED when the browser asks not to be
tracked (Global Privacy Control, or Do Not Track where the site honours it), else GRANTED.

The browser layer's cookie jar, storage and transport are wired to write and send only while the
status is GRANTED (deletions always pass, and the consent cookie is always written), so nothing is
stored or sent without consent whatever is under way when the visitor says no: a request's answer
arriving afterwards, a retry, another tab's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import NotStored
from .protocol import CONSENT_COOKIE, DEVICE_COOKIE, SESSION_COOKIE, TOKEN_COOKIE

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Console, Cookies, KeyValueStore
    from .promises import Reject, Resolve

    Event = dict[str, object]
    Send = Callable[[Event, Resolve, Reject], None]

GRANTED = "granted"
DENIED = "denied"
PENDING = "pending"
OPT_IN = "opt-in"
# How long a choice is remembered; then the visitor is asked again (opt-in) or the default holds.
CHOICE_MAX_AGE = 180 * 24 * 3600
MAX_WAITING = 100  # events tracked while PENDING, kept in memory until the visitor chooses
# What the SDK keeps in localStorage: the outbox, the leases of its locks, the member note.
STORED_PREFIXES = ("allegro_outbox:", "allegro_lease:", "allegro_member")
SDK_COOKIES = (DEVICE_COOKIE, SESSION_COOKIE, TOKEN_COOKIE)


class Consent:
    """The status, the visitor's choice, and the events tracked while it is PENDING."""

    def __init__(
        self,
        cookies: Cookies,
        opt_in: bool,
        asks_not_to_track: bool,
        console: Console,
        forward: Send | None = None,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._cookies = cookies  # ungated: the consent cookie itself is strictly necessary
        self._opt_in = opt_in
        self._asks_not_to_track = asks_not_to_track  # GPC, or DNT where the site honours it
        self._console = console
        # Where allowed events go (the sender's send), wired once the sender exists.
        self.forward = forward
        self._max_waiting = max_waiting
        self._choice: str | None = None  # this page's, should its cookie not be stored
        self._waiting: list[tuple[Event, Resolve, Reject]] = []
        self._overflowed = False
        self._listeners: list[Callable[[str], None]] = []
        self._known = self.status()

    def status(self) -> str:
        stored = self._cookies.get(CONSENT_COOKIE)
        choice = stored if stored in (GRANTED, DENIED) else self._choice
        if choice:
            return choice
        if self._opt_in:
            return PENDING
        return DENIED if self._asks_not_to_track else GRANTED

    def choose(self, choice: str) -> None:
        """The visitor's choice, GRANTED or DENIED (allegro.consent.grant() and deny())."""
        self._choice = choice
        self._cookies.set(CONSENT_COOKIE, choice, CHOICE_MAX_AGE)
        self.check()

    def listen(self, listener: Callable[[str], None]) -> None:
        """Call `listener(status)` at each change of the status."""
        self._listeners.append(listener)

    def check(self) -> str:
        """The status, after acting on a change since last seen: the waiting events are sent or
        dropped, and the listeners told. A choice made in another tab of the site (the cookie
        changed) takes effect here at this page's next track()."""
        status = self.status()
        if status != self._known:
            self._known = status
            waiting, self._waiting = self._waiting, []
            for event, resolve, reject in waiting:
                self.send(event, resolve, reject)
            for listener in self._listeners:
                listener(status)
        return status

    def send(self, event: Event, resolve: Resolve, reject: Reject) -> None:
        """Between the tracker and the sender: pass the event on, keep it, or settle it as not
        stored (`NotStored`: the API resolves `{event_id, stored: false}`)."""
        status = self.check()
        forward = self.forward
        if status == GRANTED and forward is not None:
            forward(event, resolve, reject)
        elif status == PENDING and len(self._waiting) < self._max_waiting:
            self._waiting.append((event, resolve, reject))
        else:
            if status == PENDING and not self._overflowed:
                self._overflowed = True
                self._console.warn(
                    f"{self._max_waiting} events already wait for the visitor's consent: later "
                    "ones are not kept (their promises resolve with stored: false)"
                )
            reject(NotStored("not stored: consent is " + status, event["event_id"]))


def erase(cookies: Cookies, store: KeyValueStore) -> None:
    """Delete the SDK's cookies (device, session, token) and what it keeps in storage."""
    for name in SDK_COOKIES:
        if cookies.get(name) is not None:
            cookies.set(name, "", 0)
    try:
        for key in store.stored_keys():
            if key.startswith(STORED_PREFIXES):
                store.remove(key)
    except Exception:
        return  # storage is disabled: nothing of ours is in it


def opt_in(setting: str | None, console: Console) -> bool:
    """data-consent="opt-in"; absent, the default mode. Any other value is reported and read as
    opt-in, the safer reading of a typo."""
    if setting is not None and setting != OPT_IN:
        console.error(
            f'data-consent="{setting}" is not an option: write data-consent="opt-in", or leave '
            "it out to track until the visitor says no; read as opt-in"
        )
    return setting is not None
