from __future__ import annotations

from collections.abc import Callable

from allegro_sdk.core.command_queue import CommandQueue

from .fakes import FakeConsole

API = object()


def call(command: object, api: object) -> None:
    assert callable(command)
    command(api)


def make_queue() -> tuple[CommandQueue, FakeConsole]:
    console = FakeConsole()
    return CommandQueue(API, call, callable, console), console


def recorder(log: list[str], label: str) -> Callable[[object], None]:
    def command(api: object) -> None:
        assert api is API
        log.append(label)

    return command


def test_runs_a_command_with_the_api() -> None:
    queue, console = make_queue()
    seen: list[object] = []
    queue.run(seen.append)
    assert seen == [API]
    assert console.errors == []
    assert console.warnings == []


def test_drain_runs_in_order() -> None:
    queue, _ = make_queue()
    log: list[str] = []
    queue.drain([recorder(log, "a"), recorder(log, "b"), recorder(log, "c")])
    assert log == ["a", "b", "c"]


def test_a_raising_command_does_not_stop_the_others() -> None:
    queue, console = make_queue()
    log: list[str] = []

    def broken(api: object) -> None:
        raise RuntimeError("boom")

    queue.drain([recorder(log, "a"), broken, recorder(log, "b")])
    assert log == ["a", "b"]
    assert console.errors == ["a function pushed to allegro threw: boom"]
    assert console.warnings == []


def test_each_failure_is_reported() -> None:
    queue, console = make_queue()

    def broken_key(api: object) -> None:
        raise KeyError("k")

    def broken_type(api: object) -> None:
        raise TypeError("not a thing")

    queue.drain([broken_key, broken_type])
    assert console.errors == [
        "a function pushed to allegro threw: 'k'",
        "a function pushed to allegro threw: not a thing",
    ]


def test_non_function_is_warned_and_skipped() -> None:
    queue, console = make_queue()
    log: list[str] = []
    queue.drain([recorder(log, "a"), "track('x')", None, 42, recorder(log, "b")])
    assert log == ["a", "b"]
    assert len(console.warnings) == 3
    for warning in console.warnings:
        assert "allegro.push() takes a function" in warning
        assert "skipped a value that is not one" in warning
    assert console.errors == []


def test_drain_then_run() -> None:
    queue, _ = make_queue()
    log: list[str] = []
    queue.drain([recorder(log, "queued 1"), recorder(log, "queued 2")])
    queue.run(recorder(log, "pushed later"))
    assert log == ["queued 1", "queued 2", "pushed later"]


def test_drain_of_nothing() -> None:
    queue, console = make_queue()
    queue.drain([])
    assert console.errors == []
    assert console.warnings == []


def test_uses_the_injected_call_and_is_function() -> None:
    console = FakeConsole()
    calls: list[tuple[object, object]] = []

    def record_call(command: object, api: object) -> None:
        calls.append((command, api))

    queue = CommandQueue(API, record_call, lambda value: value == "fn", console)
    queue.drain(["fn", "other"])
    assert calls == [("fn", API)]
    assert len(console.warnings) == 1
