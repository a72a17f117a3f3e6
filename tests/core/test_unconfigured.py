from __future__ import annotations

from allegro_sdk.core.errors import TrackingError
from allegro_sdk.core.unconfigured import Unconfigured


def test_every_call_is_refused_with_the_reason_and_logout_resolves() -> None:
    unconfigured = Unconfigured("add data-collector")
    refused: list[str] = []
    resolved: list[str] = []

    def reject(error: TrackingError) -> None:
        refused.append(error.message)

    unconfigured.track("page_view", None, resolved.append, reject)
    unconfigured.login({"customer_id": "c"}, resolved.append, reject)
    done: list[bool] = []
    unconfigured.logout(lambda: done.append(True))
    assert refused == ["add data-collector", "add data-collector"]
    assert resolved == []
    assert done == [True]
    assert unconfigured.current() is None
