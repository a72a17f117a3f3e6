"""The `window.allegro.push(fn)` command queue (the Google Publisher Tag `cmd` model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .ports import Console


class CommandQueue:
    """Runs pushed functions with the API object, each isolated from the others' failures."""

    def __init__(
        self,
        api: object,
        call: Callable[[object, object], None],
        is_function: Callable[[object], bool],
        console: Console,
    ) -> None:
        self._api = api
        self._call = call
        self._is_function = is_function
        self._console = console

    def drain(self, queued: Iterable[object]) -> None:
        """Run what the page queued before the SDK loaded, in order."""
        for command in queued:
            self.run(command)

    def run(self, command: object) -> None:
        if not self._is_function(command):
            self._console.warn(
                "allegro.push() takes a function, e.g. allegro.push(function (allegro) { ... }); "
                "skipped a value that is not one"
            )
            return
        try:
            self._call(command, self._api)
        except Exception as error:
            self._console.error(f"a function pushed to allegro threw: {error}")
