"""A pytest plugin that records which functions of the bundle the browser tests call.

Used by `build/find_cuts.py` (docs/build.md, "Functions the SDK never calls"), never by `make
test`. Every Playwright page gets V8's precise coverage (CDP `Profiler`); before the page
navigates away or closes, the texts of the functions that ran in the bundle's scripts are hashed
and appended to the file named by ALLEGRO_COVERAGE_OUT, one hash a line. The hashes are matched
against `build/runtime_functions.cjs list`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

OUT = Path(os.environ.get("ALLEGRO_COVERAGE_OUT", "coverage-hashes.txt"))
# The runtime is in every bundle a test loads (the SDK's and the self-test's): a script this big.
MIN_SCRIPT_CHARS = 200_000
_sessions: dict[int, tuple[Page, Any]] = {}


def _start(page: Page) -> None:
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.startPreciseCoverage", {"callCount": True, "detailed": False})
        cdp.send("Debugger.enable")
    except Exception:  # a page of a non-Chromium browser, or closed already
        return
    _sessions[id(page)] = (page, cdp)


def _take(page: Page) -> None:
    entry = _sessions.get(id(page))
    if entry is None:
        return
    cdp = entry[1]
    try:
        result = cdp.send("Profiler.takePreciseCoverage")["result"]
        hashes = set()
        for script in result:
            called = [f["ranges"][0] for f in script["functions"] if f["ranges"][0]["count"] > 0]
            if not called:
                continue
            source = cdp.send("Debugger.getScriptSource", {"scriptId": script["scriptId"]})[
                "scriptSource"
            ]
            if len(source) < MIN_SCRIPT_CHARS:
                continue
            for span in called:
                text = source[span["startOffset"] : span["endOffset"]]
                hashes.add(hashlib.sha1(text.encode("utf-8")).hexdigest()[:20])
        with OUT.open("a") as out:
            out.write("".join(h + "\n" for h in sorted(hashes)))
    except Exception:
        pass


def _wrap(cls: type, name: str, before: Any = None, after: Any = None) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if before:
            before(self)
        result = original(self, *args, **kwargs)
        if after:
            after(self, result)
        return result

    setattr(cls, name, wrapper)


def _take_all(_: Any) -> None:
    for page, _cdp in list(_sessions.values()):
        _take(page)


_wrap(BrowserContext, "new_page", after=lambda _self, page: _start(page))
_wrap(Browser, "new_page", after=lambda _self, page: _start(page))
for _method in ("goto", "reload", "close", "go_back", "set_content"):
    _wrap(Page, _method, before=_take)
_wrap(BrowserContext, "close", before=lambda ctx: [_take(p) for p in ctx.pages])
_wrap(Browser, "close", before=_take_all)
