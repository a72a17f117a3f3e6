"""Brython's `browser` module, as far as the SDK uses it (allegro_sdk/browser only).

JS objects are dynamic, so every attribute, call, item and iteration of one is `Any`: what mypy
checks in the browser layer is the Python around them (calls into the core, the types the core
is given). `JSObject` exists only here, for annotations (imported under TYPE_CHECKING).
"""

from collections.abc import Iterator
from typing import Any

class JSObject:
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: object) -> None: ...
    def __call__(self, *args: object) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...

window: JSObject
