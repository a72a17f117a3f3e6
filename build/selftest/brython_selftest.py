"""Python-semantics self-test, run as __main__ through the built (stripped, private) runtime.

Build: python build/bundle.py --main build/selftest/brython_selftest.py --out <dir>/selftest.js
tests/sdk_build/test_brython_selftest.py loads the bundle in Chromium under a strict CSP and reads
`window.brythonSelftest = {passed, failed: [{name, error}], knownDivergences, unexpectedPasses,
pending, done}`; `done` becomes true once the asynchronous checks have reported.

Not usable in SDK source either: `\\N{...}` string escapes (the build-time transpiler tries to
fetch Unicode data with XMLHttpRequest and the build fails).

Each check is a small function that returns True or raises. They cover what the SDK relies on,
so that a Brython upgrade or a build change that breaks the stripped runtime fails `make test`.
Only builtins and the JS-implemented modules `browser` and `javascript` exist in this runtime.
"""

# The checks deliberately use the forms that these rules would rewrite (%-formatting, which must
# raise; zip without strict, setattr/getattr with constants, a shared mutable default...):
# ruff: noqa: B006, B009, B010, B018, B023, B904, B905, RUF015, SIM905, UP003, UP012, UP031

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator
    from typing import Any

    Check = Callable[[], bool]
    Finish = Callable[[str, str | None], None]

CHECKS: list[Check] = []
PASSED: list[str] = []
FAILED: list[tuple[str, str]] = []
PENDING: list[str] = []
KNOWN_DIVERGENCES: list[Check] = []
STILL_DIVERGING: list[tuple[str, str]] = []
UNEXPECTED_PASSES: list[str] = []


def check(function: Check) -> Check:
    CHECKS.append(function)
    return function


def known_divergence(function: Check) -> Check:
    KNOWN_DIVERGENCES.append(function)
    return function


def expect(actual: object, expected: object, what: str = "") -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_left_out(name: str, run: Callable[[], object]) -> None:
    """`run` uses something the build leaves out: it must raise NotImplementedError."""
    try:
        run()
    except NotImplementedError:
        return
    raise AssertionError(f"{name} did not raise NotImplementedError")


# --- numbers -------------------------------------------------------------------------------------


@check
def int_with_bases() -> bool:
    expect(int("ff", 16), 255, "hex")
    expect(int("FF", 16), 255, "upper hex")
    expect(int("0x1f", 16), 31, "0x prefix")
    expect(int("0o17", 0), 15, "base 0")
    expect(int("-101", 2), -5, "binary")
    expect(int("  42\n"), 42, "whitespace")
    expect(int("z", 36), 35, "base 36")
    expect((hex(255), oct(8), bin(5)), ("0xff", "0o10", "0b101"), "hex/oct/bin")
    try:
        int("12a")
    except ValueError:
        return True
    raise AssertionError("int('12a') did not raise ValueError")


@check
def big_ints() -> bool:
    big = 2**100
    expect(str(big), "1267650600228229401496703205376", "2**100")
    expect(big // 3, 422550200076076467165567735125, "floor division")
    expect(big % 1000, 376, "modulo")
    expect(2**53 + 1, 9007199254740993, "beyond 2**53")
    expect((-7 // 2, -7 % 3, divmod(-7, 2)), (-4, 2, (-4, 1)), "negative floor")
    expect(int("9" * 30) + 1, 10**30, "parse big")
    expect((1 << 70) >> 68, 4, "shifts")
    expect(0xFFFFFFFF & 0x0F0F0F0F, 0x0F0F0F0F, "bitwise and")
    return True


@check
def float_to_str() -> bool:
    # Float format specs (f"{x:.2f}", format(x, ",.2f"), "%.3f" % x) are left out of the build
    # with the rest of the string formatting: formatting_is_left_out_loudly checks that they raise.
    expect(repr(0.1), "0.1", "repr 0.1")
    expect(str(1.0), "1.0", "str 1.0")
    expect(repr(1 / 3), "0.3333333333333333", "repr 1/3")
    expect(f"{0.25}", "0.25", "f-string without a spec")
    expect(float("1e3"), 1000.0, "float()")
    expect(str(1e20), "1e+20", "exponent")
    expect(int(3.99), 3, "int(float)")
    expect(7 / 2, 3.5, "true division")
    return True


# --- strings -------------------------------------------------------------------------------------


@check
def str_split_join() -> bool:
    expect("a,b,,c".split(","), ["a", "b", "", "c"], "split sep")
    expect("  a  b \n".split(), ["a", "b"], "split whitespace")
    expect("a=b=c".split("=", 1), ["a", "b=c"], "maxsplit")
    expect("a.b.c".rsplit(".", 1), ["a.b", "c"], "rsplit")
    expect("-".join(["x", "y", "z"]), "x-y-z", "join")
    expect("".join(c for c in "abc"), "abc", "join generator")
    expect("k=v=w".partition("="), ("k", "=", "v=w"), "partition")
    expect("kv".partition("="), ("kv", "", ""), "partition without the separator")
    expect(type("k=v".partition("=")), tuple, "partition makes a tuple")
    return True


@check
def str_join_of_lists_and_tuples() -> bool:
    # The runtime joins a list or tuple directly (build/runtime.py): same results and errors.
    expect(", ".join(("a", "b")), "a, b", "join tuple")
    expect("-".join([]), "", "join empty list")
    expect("".join(["\U0001f600", "x"]), "\U0001f600x", "join astral")
    expect("+".join({"k": 1, "l": 2}), "k+l", "join dict keys")
    for items, position in ((["a", 1], 1), ((None,), 0)):
        try:
            ",".join(items)  # type: ignore[arg-type]
        except TypeError as error:
            expect(str(error).startswith(f"sequence item {position}: expected str instance"), True)
        else:
            raise AssertionError(f"join of {items!r} did not raise TypeError")
    return True


@check
def str_methods() -> bool:
    expect("  pad  ".strip(), "pad", "strip")
    expect("xxhixx".strip("x"), "hi", "strip chars")
    expect(("  l".lstrip(), "r  ".rstrip()), ("l", "r"), "lstrip/rstrip")
    expect("https://x".startswith(("http://", "https://")), True, "startswith tuple")
    expect("file.py".endswith(".py"), True, "endswith")
    expect("Hello".upper() + "Hello".lower(), "HELLOhello", "case")
    expect("a-b-c".replace("-", "+", 1), "a+b-c", "replace count")
    # str.index is str.find's, so find stays; count and zfill are cut (checked below).
    expect(("banana".find("na"), "banana".rfind("na")), (2, 4), "find")
    expect(("123".isdigit(), "abc".isalpha(), " ".isspace()), (True, True, True), "is*")
    expect("ab" * 3, "ababab", "repeat")
    expect("Title case".title(), "Title Case", "title")
    try:
        "abc".index("z")
    except ValueError:
        return True
    raise AssertionError("str.index did not raise ValueError")


@check
def f_strings() -> bool:
    # Only what the SDK writes: plain fields (str()) and !r (repr()). Format specs and the other
    # conversions are left out of the build: formatting_is_left_out_loudly checks that they raise.
    value, number = "ab", 12345
    expect(f"{value!r}", "'ab'", "repr")
    expect(f"{{literal}} {value}", "{literal} ab", "escaped braces")
    expect(f"{1 + 2}", "3", "expression")
    expect(f"{value=}", "value='ab'", "= specifier")
    expect(f"{'x' if value else 'y'}", "x", "conditional")
    expect(f"{number}|{-7}|{True}|{None}", "12345|-7|True|None", "str of ints, bools, None")
    expect(f"{[1, 'a']}", "[1, 'a']", "str of a list")
    return True


@check
def formatting_is_left_out_loudly() -> bool:
    # The build leaves string formatting out (docs/build.md, "Functions the SDK never calls"):
    # str % args, str.format, format() and format specs in f-strings. The SDK's code uses none of
    # them (build/bundle.py refuses SDK source that does); using one must raise, naming what was
    # cut, never produce a wrong string. These checks replace the ones that formatted with them.
    value, width = "ab", 6
    for name, run in (
        ("str % tuple", lambda: "%s=%d" % ("a", 3)),
        ("str % str", lambda: "%r" % "x"),
        ("str % float", lambda: "%.3f" % 2.5),
        ("str % mapping", lambda: "%(k)s" % {"k": "key"}),
        ("str.format", lambda: "{}-{}".format("a", 1)),
        ("format(float)", lambda: format(1234567.891, ",.2f")),
        ("format(int)", lambda: format(255, "x")),
        ("f-string float spec", lambda: f"{3.14159:.2f}"),
        ("f-string int spec", lambda: f"{12345:,}"),
        ("f-string str spec", lambda: f"{value:>{width}}"),
    ):
        expect_left_out(name, run)
    return True


@check
def unused_builtins_are_left_out_loudly() -> bool:
    # round(), str.splitlines, str.count and str.zfill are cut too (docs/build.md): the SDK's
    # code spells none of them. They must raise, naming what was cut. These replace the checks
    # of round half even, splitlines, count and zfill.
    for name, run in (
        ("round(float)", lambda: round(2.5)),
        ("round(float, n)", lambda: round(1.25, 1)),
        ("str.splitlines", lambda: "a\nb\r\nc".splitlines()),
        ("str.count", lambda: "banana".count("a")),
        ("str.zfill", lambda: "7".zfill(3)),
    ):
        expect_left_out(name, run)
    return True


# --- containers ----------------------------------------------------------------------------------


@check
def slicing() -> bool:
    items = list(range(10))
    expect(items[2:5], [2, 3, 4], "slice")
    expect(items[::-3], [9, 6, 3, 0], "negative step")
    expect(items[-2:], [8, 9], "negative start")
    expect("hello"[1:-1], "ell", "str slice")
    expect("hello"[::-1], "olleh", "str reverse")
    items[1:3] = ["a"]
    expect(items[:3], [0, "a", 3], "slice assignment")
    expect(items[1::2], ["a", 4, 6, 8], "step")
    expect((1, 2, 3)[1:], (2, 3), "tuple slice")
    return True


@check
def list_operations() -> bool:
    items = [3, 1]
    items.append(2)
    items.extend([5, 4])
    items.insert(0, 0)
    expect(items, [0, 3, 1, 2, 5, 4], "append/extend/insert")
    expect(items.pop(), 4, "pop")
    expect(items.pop(0), 0, "pop(0)")
    items.remove(5)
    items.sort()
    expect(items, [1, 2, 3], "remove/sort")
    items.reverse()
    expect((items, items.index(2), items.count(3)), ([3, 2, 1], 1, 1), "reverse/index/count")
    expect([0] * 3 + [1], [0, 0, 0, 1], "repeat and concat")
    expect(([1, 2] < [1, 3], [1, 2] == [1, 2]), (True, True), "comparison")
    first, *rest = [1, 2, 3]
    expect((first, rest), (1, [2, 3]), "star unpacking")
    return True


@check
def dict_operations() -> bool:
    data = {"a": 1}
    expect(data.get("b"), None, "get missing")
    expect(data.get("b", 2), 2, "get default")
    expect(data.setdefault("c", []), [], "setdefault")
    data.update({"d": 4}, e=5)
    expect(data.pop("d"), 4, "pop")
    expect(data.pop("zz", None), None, "pop default")
    expect(sorted(data.keys()), ["a", "c", "e"], "keys")
    expect({**data, "a": 9}["a"], 9, "unpack merge")
    expect((data | {"f": 6})["f"], 6, "| merge")
    data.pop("c")
    expect(list(data.items()), [("a", 1), ("e", 5)], "items")
    expect(dict(zip("xy", [1, 2])), {"x": 1, "y": 2}, "dict(zip)")
    try:
        data["missing"]
    except KeyError as error:
        expect(error.args, ("missing",), "KeyError args")
        return True
    raise AssertionError("missing key did not raise KeyError")


@check
def dict_get_of_str_keys() -> bool:
    # The runtime reads a str key directly in dict.get (build/runtime_edits.cjs): same results.
    data: dict[object, object] = {"a": 1, "n": None}
    expect(data.get("a"), 1, "get present")
    expect(data.get("n", 5), None, "get a None value")
    expect(data.get("constructor"), None, "get a name JS objects inherit")
    expect(data.get("toString", 7), 7, "get another inherited name, default")
    data.pop("a")
    expect(data.get("a", 3), 3, "get removed")
    data[2] = "two"  # a key that is not a str: the dict keeps a hash table too
    expect((data.get(2), data.get(3), data.get("n", 0)), ("two", None, None), "mixed")
    return True


@check
def dict_ordering() -> bool:
    # Keys that look like integers ("10") are a known divergence: see the end of this file.
    data = {}
    for key in ["zeta", "alpha", "mid", "x1", "_2"]:
        data[key] = len(key)
    expect(list(data), ["zeta", "alpha", "mid", "x1", "_2"], "insertion order")
    data.pop("alpha")
    data["alpha"] = 0
    expect(list(data)[-1], "alpha", "reinsert goes last")
    data["zeta"] = 99
    expect(list(data)[0], "zeta", "update keeps position")
    numbers = {3: "c", 1: "a", 2: "b"}
    expect(list(numbers.values()), ["c", "a", "b"], "int keys order")
    return True


@check
def set_operations() -> bool:
    left, right = {1, 2, 3}, {3, 4}
    expect(left | right, {1, 2, 3, 4}, "union")
    expect(left & right, {3}, "intersection")
    expect(left - right, {1, 2}, "difference")
    expect(left ^ right, {1, 2, 4}, "symmetric difference")
    expect(frozenset([1, 1, 2]), frozenset({1, 2}), "frozenset")
    expect({1, 2} <= left, True, "subset")
    seen = set()
    seen.add("x")
    seen.discard("y")
    expect(("x" in seen, len(seen)), (True, 1), "add/discard")
    return True


@check
def comprehensions() -> bool:
    expect([x * x for x in range(5) if x % 2], [1, 9], "list")
    expect({k: v for k, v in [("a", 1), ("b", 2)]}, {"a": 1, "b": 2}, "dict")
    expect({c for c in "hello"}, {"h", "e", "l", "o"}, "set")
    expect(sum(x for x in range(101)), 5050, "generator")
    expect([(i, j) for i in range(2) for j in range(2) if i != j], [(0, 1), (1, 0)], "nested")
    expect([[c for c in w] for w in ("ab", "c")], [["a", "b"], ["c"]], "inner")
    return True


@check
def membership() -> bool:
    expect("ell" in "hello", True, "substring")
    expect(3 in [1, 2, 3], True, "list")
    expect("k" in {"k": 1}, True, "dict key")
    expect(1 in {"k": 1}, False, "dict value is not a key")
    expect(2 in (1, 2), True, "tuple")
    expect((5 in range(0, 10, 5), 7 in range(0, 10, 5)), (True, False), "range")
    expect("x" not in "abc", True, "not in")
    return True


@check
def sorting() -> bool:
    words = ["banana", "Apple", "cherry", "apple"]
    expect(sorted(words), ["Apple", "apple", "banana", "cherry"], "default")
    expect(sorted(words, key=str.lower), ["Apple", "apple", "banana", "cherry"], "stable key")
    expect(sorted(words, key=len, reverse=True)[0], "banana", "reverse")
    pairs = [("b", 2), ("a", 2), ("c", 1)]
    expect(sorted(pairs, key=lambda p: p[1]), [("c", 1), ("b", 2), ("a", 2)], "lambda stable")
    expect(sorted({"y": 1, "x": 2}.items()), [("x", 2), ("y", 1)], "dict items")
    expect(min(words, key=len), "Apple", "min key")
    expect(max([3, 9, 2]), 9, "max")
    return True


@check
def sorting_without_key() -> bool:
    # Lists of ints or strs sorted without a key take their own path in the runtime (the JS
    # engine's stable sort since the build replaced Brython's TimSort: docs/build.md).
    numbers = [(i * 7919) % 101 for i in range(101)]
    expect(sorted(numbers), list(range(101)), "101 ints")
    expect(sorted(numbers, reverse=True)[:3], [100, 99, 98], "reverse ints")
    big = [3**80, -(2**70), 5**60, 2**90]
    expect(sorted(big), [-(2**70), 2**90, 3**80, 5**60], "big ints")
    expect(sorted(big, reverse=True)[0], 5**60, "reverse big ints")
    words = [str(n) for n in numbers] + ["b", "a", "B", "é"]
    expect(sorted(words)[:4], ["0", "1", "10", "100"], "strs")
    expect(sorted(words)[-4:], ["B", "a", "b", "é"], "strs by code point")
    items = [3, 1, 2]
    expect((items.sort(), items), (None, [1, 2, 3]), "list.sort in place")
    return True


# --- exceptions ----------------------------------------------------------------------------------


class TrackingError(Exception):
    """Base of this test's own exceptions."""


class ValidationError(TrackingError):
    def __init__(self, field: str, message: str) -> None:
        TrackingError.__init__(self, f"{field}: {message}")
        self.field = field


@check
def custom_exceptions() -> bool:
    try:
        raise ValidationError("event", "too long")
    except TrackingError as error:
        expect(str(error), "event: too long", "str")
        expect(error.field, "event", "attribute")
        expect(error.args, ("event: too long",), "args")
        expect(type(error).__name__, "ValidationError", "type name")
        expect(repr(TrackingError("x")), "TrackingError('x')", "repr")
        return True
    raise AssertionError("not caught by base class")


@check
def raise_from() -> bool:
    try:
        try:
            {}["k"]
        except KeyError as error:
            raise TrackingError("wrapped") from error
    except TrackingError as outer:
        expect(isinstance(outer.__cause__, KeyError), True, "__cause__")
        expect(outer.__suppress_context__, True, "__suppress_context__")
    try:
        try:
            1 / 0
        except ZeroDivisionError:
            raise ValueError("during handling") from None
    except ValueError as bare:
        expect(bare.__cause__, None, "from None")
    try:
        try:
            [][0]
        except IndexError:
            raise RuntimeError("implicit")
    except RuntimeError as chained:
        expect(isinstance(chained.__context__, IndexError), True, "__context__")
    return True


@check
def try_except_finally_order() -> bool:
    order = []

    def run(fail: bool) -> str:
        try:
            order.append("try")
            if fail:
                raise ValueError("x")
        except ValueError:
            order.append("except")
            return "from except"
        else:
            order.append("else")
        finally:
            order.append("finally")
        return "after"

    expect(run(True), "from except", "return value")
    expect(run(False), "after", "no error")
    expect(order, ["try", "except", "finally", "try", "else", "finally"], "order")

    def finally_wins() -> str:
        try:
            return "try"
        finally:
            order.append("cleanup")

    expect(finally_wins(), "try", "return through finally")
    expect(order[-1], "cleanup", "finally ran")
    return True


@check
def exception_classes() -> bool:
    error = KeyError("k")
    expect(isinstance(error, (ValueError, LookupError)), True, "tuple of bases")
    expect(issubclass(KeyError, LookupError), True, "issubclass")
    expect(issubclass(ValidationError, Exception), True, "custom issubclass")
    caught = []
    for raised in (TypeError("t"), IndexError("i")):
        try:
            raise raised
        except (TypeError, LookupError) as error:
            caught.append(type(error).__name__)
    expect(caught, ["TypeError", "IndexError"], "except tuple")
    try:
        None.missing
    except AttributeError:
        return True
    raise AssertionError("attribute of None did not raise AttributeError")


# --- functions -----------------------------------------------------------------------------------


@check
def closures_and_nonlocal() -> bool:
    def counter() -> Callable[..., int]:
        count = 0

        def increment(step: int = 1) -> int:
            nonlocal count
            count += step
            return count

        return increment

    first, second = counter(), counter()
    first()
    first(5)
    expect((first(), second()), (7, 1), "independent cells")
    late = []
    for j in range(3):
        late.append(lambda: j)
    bound = [lambda i=i: i for i in range(3)]
    expect(([f() for f in late], [f() for f in bound]), ([2, 2, 2], [0, 1, 2]), "binding")
    return True


@check
def default_arguments() -> bool:
    def remember(item: int, into: list[int] = []) -> list[int]:
        into.append(item)
        return into

    remember(1)
    expect(remember(2), [1, 2], "default evaluated once")

    def options(
        name: str, *, retries: int = 3, timeout: int | None = None
    ) -> tuple[str, int, int | None]:
        return (name, retries, timeout)

    expect(options("a", timeout=5), ("a", 3, 5), "keyword-only")
    try:
        options("a", 1)
    except TypeError:
        return True
    raise AssertionError("extra positional argument did not raise TypeError")


@check
def star_args_and_kwargs() -> bool:
    def collect(
        first: object, *args: object, **kwargs: object
    ) -> tuple[object, tuple[object, ...], dict[str, object]]:
        return first, args, kwargs

    expect(collect(1, 2, 3, a=4), (1, (2, 3), {"a": 4}), "collect")
    expect(collect(*[1, 2], **{"b": 5}), (1, (2,), {"b": 5}), "unpack call")
    expect(collect(0, *(), **{}), (0, (), {}), "empty unpack")

    def keywords(**kwargs: object) -> list[str]:
        return list(kwargs)

    expect(keywords(z=1, a=2, m=3), ["z", "a", "m"], "kwargs order")
    return True


# --- classes -------------------------------------------------------------------------------------


class Event:
    kind = "event"

    def __init__(self, name: str, **properties: object) -> None:
        self.name = name
        self.properties = properties

    def describe(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def page_view(cls, path: str) -> Event:
        return cls("page_view", path=path)

    @staticmethod
    def normalise(name: str) -> str:
        return name.strip().lower()

    def __repr__(self) -> str:
        return f"Event({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Click(Event):
    kind = "click"

    def __init__(self, target: str) -> None:
        Event.__init__(self, "click", target=target)
        self.target = target

    def describe(self) -> str:
        return Event.describe(self) + "@" + self.target

    def described_by_super(self) -> str:
        return super().describe()


class Impression(Event):
    kind = "impression"


@check
def inheritance() -> bool:
    click = Click("#buy")
    expect(click.describe(), "click:click@#buy", "base class method")
    expect(click.properties, {"target": "#buy"}, "base class __init__")
    expect((isinstance(click, Event), issubclass(Click, Event)), (True, True), "isinstance")
    expect([c.__name__ for c in Click.__mro__], ["Click", "Event", "object"], "mro")
    expect(Event.page_view("/").properties, {"path": "/"}, "classmethod")
    expect(type(Impression.page_view("/")), Impression, "classmethod on subclass")
    expect(Event.normalise("  Signup "), "signup", "staticmethod")
    return True


@check
def class_attributes() -> bool:
    first, second = Event("a"), Event("b")
    first.kind = "custom"
    expect((first.kind, second.kind, Event.kind), ("custom", "event", "event"), "shadowing")
    expect(first.describe(), "custom:a", "instance attribute wins")
    expect(hasattr(second, "properties") and not hasattr(second, "nope"), True, "hasattr")
    setattr(second, "extra", 1)
    expect(getattr(second, "extra"), 1, "getattr/setattr")
    expect(getattr(second, "nope", "default"), "default", "getattr default")
    return True


class Temperature:
    def __init__(self, celsius: float) -> None:
        self._celsius = celsius

    @property
    def celsius(self) -> float:
        return self._celsius

    @property
    def fahrenheit(self) -> float:
        return self._celsius * 9 / 5 + 32


@check
def properties() -> bool:
    reading = Temperature(100)
    expect((reading.celsius, reading.fahrenheit), (100, 212.0), "getters")
    return True


def delete_item() -> None:
    items = [1, 2, 3]
    del items[0]


def delete_key() -> None:
    data = {"a": 1}
    del data["a"]


def assign_class_attribute() -> None:
    Event.kind = "changed"


def assign_property() -> None:
    Temperature(0).fahrenheit = 1  # type: ignore[misc]


@check
def unused_class_features_are_left_out_loudly() -> bool:
    # super(), `del x[i]`, property setters and assigning a class's attributes are cut
    # (docs/build.md, "Functions the SDK never calls"): the SDK's code uses none of them. They
    # must raise, naming what was cut. These replace the checks that used them.
    for name, run in (
        ("super()", lambda: Click("#x").described_by_super()),
        ("del list[i]", delete_item),
        ("del dict[k]", delete_key),
        ("property.setter", lambda: property(lambda self: 0).setter(lambda self, value: None)),
        ("assigning a property", assign_property),
        ("assigning a class attribute", assign_class_attribute),
    ):
        expect_left_out(name, run)
    expect(Event.kind, "event", "class attribute unchanged")
    return True


class Bag:
    def __init__(self, *items: str) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __getitem__(self, index: int) -> str:
        return self.items[index]

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        return "bag of " + str(len(self))


@check
def dunder_methods() -> bool:
    bag = Bag("a", "b")
    expect((len(bag), list(bag), "a" in bag, bag[-1]), (2, ["a", "b"], True, "b"), "protocols")
    expect((bool(Bag()), str(bag)), (False, "bag of 2"), "__bool__/__str__")
    expect(repr(Event("x")), "Event('x')", "__repr__")
    expect(f"{[Event('y')]}", "[Event('y')]", "repr in container")
    expect(Event("a") == Event("a"), True, "__eq__")
    expect(len({Event("a"), Event("a")}), 1, "__hash__")
    return True


# --- iteration -----------------------------------------------------------------------------------


@check
def generators() -> bool:
    def countdown(n: int) -> Generator[int, None, str]:
        while n > 0:
            yield n
            n -= 1
        return "done"

    expect(list(countdown(3)), [3, 2, 1], "yield")

    def delegate() -> Generator[int | str, None, None]:
        result = yield from countdown(2)
        yield result

    expect(list(delegate()), [2, 1, "done"], "yield from return value")
    numbers = countdown(1)
    expect(next(numbers), 1, "next")
    expect(next(numbers, "end"), "end", "next default")

    def echo() -> Generator[object, int, None]:
        received = yield "ready"
        yield received * 2

    talker = echo()
    expect((next(talker), talker.send(21)), ("ready", 42), "send")
    try:
        next(iter([]))
    except StopIteration:
        return True
    raise AssertionError("exhausted iterator did not raise StopIteration")


@check
def iteration_builtins() -> bool:
    expect(list(enumerate("ab", start=1)), [(1, "a"), (2, "b")], "enumerate")
    expect(list(zip([1, 2, 3], "ab")), [(1, "a"), (2, "b")], "zip")
    expect(list(map(str, [1, 2])), ["1", "2"], "map")
    expect(list(map(lambda a, b: a + b, [1, 2], [10, 20])), [11, 22], "map two")
    expect(list(filter(None, [0, 1, "", "x"])), [1, "x"], "filter None")
    expect((any([0, "", 3]), all([1, "a"]), any([]), all([])), (True, True, False, True), "any/all")
    expect(list(reversed([1, 2, 3])), [3, 2, 1], "reversed")
    expect(list(range(10, 0, -4)), [10, 6, 2], "range step")
    expect(sum([0.5, 0.25], 1), 1.75, "sum start")
    return True


@check
def types_and_callables() -> bool:
    expect(isinstance(1, (str, int)), True, "tuple")
    expect(isinstance("s", (int, float)), False, "tuple miss")
    expect((isinstance(True, int), type(True) is bool), (True, True), "bool is int")
    expect(isinstance(None, type(None)), True, "NoneType")
    expect((callable(len), callable(Event), callable(Event("a").describe)), (True,) * 3, "yes")
    expect((callable(1), callable("f")), (False, False), "no")
    expect((bool(""), bool([]), bool({}), bool(0.0), bool("0")), (False,) * 4 + (True,), "truth")
    expect((str(None), str(True), repr([None, 1.5])), ("None", "True", "[None, 1.5]"), "str")
    return True


@check
def string_escapes() -> bool:
    expect(len("\t\n\\\"'"), 5, "simple escapes")
    expect(("\x41", "\u00e9", "\U0001f600"), ("A", "é", "😀"), "codes")
    expect((ord("A"), chr(233), ord("😀")), (65, "é", 128512), "ord/chr")
    expect(repr("it's"), '"it\'s"', "repr quote choice")
    expect(repr("a\nb"), "'a\\nb'", "repr newline")
    expect(r"\d+", "\\d+", "raw string")
    return True


@check
def non_ascii_text() -> bool:
    text = "café 日本 😀!"
    expect(len(text), 10, "length in code points")
    expect(text[8], "😀", "index past emoji")
    expect(text[-2:], "😀!", "slice with emoji")
    expect(text.upper(), "CAFÉ 日本 😀!", "upper")
    expect(text.split(" "), ["café", "日本", "😀!"], "split")
    expect(list("é😀"), ["é", "😀"], "iteration")
    return True


@check
def bytes_are_left_out_loudly() -> bool:
    # The build drops bytes, bytearray and the codecs (docs/build.md): using them must raise,
    # never quietly produce something wrong.
    try:
        "café".encode("utf-8")
    except Exception:
        return True
    raise AssertionError("str.encode worked, but the build is meant to leave bytes out")


@check
def compiler_is_left_out_loudly() -> bool:
    # No compiler in this runtime (docs/build.md): eval, exec and compile raise, never misbehave.
    source = "1 + 1"
    for name, run in (
        ("eval", lambda: eval(source)),
        ("exec", lambda: exec(source)),
        ("compile", lambda: compile(source, "<selftest>", "eval")),
        ("javascript.this", lambda: javascript.this()),
    ):
        expect_left_out(name, run)
    return True


@check
def function_attributes() -> bool:
    def greet(name: str, punctuation: str = "!") -> str:
        return "hi " + name + punctuation

    expect(
        (greet.__name__, greet.__qualname__),
        ("greet", "function_attributes.<locals>.greet"),
        "names",
    )
    expect(greet.__defaults__, ("!",), "__defaults__")
    expect(greet.__annotations__, {}, "__annotations__ (the build strips annotations)")
    expect(greet.__module__, "__main__", "__module__")
    expect(int.__doc__ in ("", None), True, "builtin docstrings are left out")
    expect(Temperature.__doc__, None, "class without docstring")
    return True


@check
def a_missing_module_fails_at_once() -> bool:
    # Imports search the bundle's modules only (docs/build.md): no request to the server.
    try:
        __import__("allegro_sdk.no_such_module")
    except ImportError as error:
        expect(type(error).__name__, "ModuleNotFoundError", "error type")
        return True
    raise AssertionError("importing a missing module did not raise ImportError")


# --- JavaScript interop --------------------------------------------------------------------------


@check
def iterate_js_array() -> bool:
    parsed = window.JSON.parse("[1, 2, 3]")
    expect([x * 2 for x in parsed], [2, 4, 6], "JSON.parse array")
    built = window.Array.new(3).fill(7)
    expect(list(built), [7, 7, 7], "Array.new(3).fill(7)")
    expect(built.length, 3, "length")
    words = window.Array.of("a", "b")
    expect([(i, w) for i, w in enumerate(words)], [(0, "a"), (1, "b")], "enumerate Array.of")
    return True


@check
def read_js_attributes() -> bool:
    expect(window.Math.PI > 3.14, True, "Math.PI")
    expect(window.Number.MAX_SAFE_INTEGER, 2**53 - 1, "MAX_SAFE_INTEGER")
    expect(window.location.protocol, "http:", "location.protocol")
    expect(isinstance(window.navigator.userAgent, str), True, "userAgent is str")
    expect(window.document.title, "allegro selftest", "document.title")
    element = window.document.getElementById("marker")
    expect(element.dataset.role, "selftest", "dataset")
    return True


@check
def dom_elements() -> bool:
    # What allegro_sdk/browser/ does with elements (links.py, page.py, js.py); the build leaves
    # out browser.html, so elements are plain DOMNode objects.
    document = window.document
    element = document.getElementById("marker")
    names = [str(attribute.name) for attribute in element.attributes]
    expect(names, ["id", "data-role"], "attributes")
    expect([str(a.value) for a in element.attributes], ["marker", "selftest"], "attribute values")
    expect(element.getAttribute("data-role"), "selftest", "getAttribute")
    expect((element.hasAttribute("id"), element.hasAttribute("href")), (True, False), "has")
    expect(getattr(element, "href", None), None, "missing attribute")
    expect([str(e.id) for e in document.querySelectorAll("[data-role]")], ["marker"], "query")
    expect(int(document.querySelectorAll("div").length), 1, "length")
    expect(document.querySelector("section"), None, "no match")
    expect(element.closest("[data-role]") == element, True, "closest is the element")
    expect(element.parentElement == document.body, True, "parentElement")
    expect(element.parentElement != element, True, "!=")
    try:
        missing = element.closest("section")
    except KeyError:
        missing = None
    expect(missing, None, "closest without a match")
    expect(str(element.textContent), "", "textContent")
    expect(str(window.document.visibilityState) in ("visible", "hidden"), True, "visibility")
    return True


@check
def call_js_functions() -> bool:
    expect(window.Math.max(1, 5, 3), 5, "Math.max")
    expect(window.parseInt("ff", 16), 255, "parseInt")
    expect(window.encodeURIComponent("a b&é"), "a%20b%26%C3%A9", "encodeURIComponent")
    expect(window.Array.of(1, "b").join("+"), "1+b", "method of a JS object")
    expect("-".join(window.Array.of("a", "b").map(lambda v, *_: v.upper())), "A-B", "map")
    expect(window.Date.new(0).toISOString(), "1970-01-01T00:00:00.000Z", "constructor")
    try:
        window.JSON.parse("{not json")
    except Exception as error:
        expect("JSON" in str(error) or "Unexpected" in str(error), True, f"message {error}")
        return True
    raise AssertionError("a JS exception did not become a Python exception")


@check
def python_dict_to_js_json() -> bool:
    data = {"name": "signup", "n": 2, "ok": True, "tags": ["a", "é"], "nested": {"x": 1.5}}
    text = window.JSON.stringify(javascript.pyobj2jsobj(data))
    expect(
        text,
        '{"name":"signup","n":2,"ok":true,"tags":["a","é"],"nested":{"x":1.5}}',
        "JSON.stringify",
    )
    with_null = javascript.pyobj2jsobj({"v": javascript.NULL})
    expect(window.JSON.stringify(with_null), '{"v":null}', "NULL value")
    return True


@check
def js_json_to_python() -> bool:
    text = '{"a": {"b": [1, 2]}, "s": "日本", "f": 1.5, "t": true}'
    # javascript.JSON.parse converts to Python containers...
    data = javascript.JSON.parse(text)
    expect(isinstance(data, dict), True, "javascript.JSON.parse gives a dict")
    expect(list(data), ["a", "s", "f", "t"], "key order")
    expect((data["a"], isinstance(data["a"]["b"], list)), ({"b": [1, 2]}, True), "nested")
    expect((data["s"], data["f"], data["t"]), ("日本", 1.5, True), "scalars")
    # ...window.JSON.parse gives a JS object, read by attribute or item.
    js_data = window.JSON.parse(text)
    expect(isinstance(js_data, dict), False, "window.JSON.parse gives a JS object")
    expect((js_data.a.b[1], js_data["s"], js_data.t), (2, "日本", True), "JS object access")
    expect(sorted(window.Object.keys(js_data)), ["a", "f", "s", "t"], "Object.keys")
    return True


@check
def null_and_undefined() -> bool:
    expect(javascript.NULL is None, False, "NULL is not None")
    expect(javascript.UNDEFINED is None, False, "UNDEFINED is not None")
    expect(javascript.NULL is javascript.UNDEFINED, False, "NULL is not UNDEFINED")
    expect(window.JSON.stringify(javascript.NULL), "null", "NULL to JS")
    parsed = window.JSON.parse('{"n": null}')
    expect(parsed.n is javascript.NULL, True, f"parsed null is NULL, got {parsed.n!r}")
    # A null *returned by a JS function* becomes None, unlike a null read from an attribute.
    expect(window.document.getElementById("no-such-id"), None, "null result")
    expect(window.Array.of(1).find(lambda v, *_: v > 5) is javascript.UNDEFINED, True, "undefined")
    try:
        window.Object.new().missing
    except AttributeError:
        return True
    raise AssertionError("reading a missing attribute of a JS object did not raise AttributeError")


def double(value: Any, *_: object) -> Any:
    return value * 2


@check
def python_function_called_from_js() -> bool:
    # Never `window.Array.prototype.map.call(...)` from Python: in Brython 3.15 (stock too) it
    # leaves a wrapper cached on the native `map`, after which every `js_array.map(f)` called
    # from Python returns an empty array. Reflect.apply is the safe way to pick `this`.
    numbers = window.JSON.parse("[1, 2, 3]")
    mapped = window.Reflect.apply(window.Array.of(0).map, numbers, window.Array.of(double))
    expect(list(mapped), [2, 4, 6], "Reflect.apply(map, array, [double])")
    expect(list(numbers), [1, 2, 3], "source untouched")
    holder = window.Object.new()
    holder.f = double
    expect(window.Reflect.apply(holder.f, javascript.NULL, window.Array.of(21)), 42, "stored")
    expect(window.Array.of("x").map(holder.f)[0], "xx", "map with stored function")
    ordered = window.Array.of(3, 1, 2).sort(lambda a, b: a - b)
    expect(list(ordered), [1, 2, 3], "sort with a Python comparator")
    return True


# --- known divergences from CPython ---------------------------------------------------------------
# Each one asserts CPython's behaviour and fails the same way in stock Brython 3.15.0 (compared on a
# page with the stock brython.js), so it is a Brython bug, not a build bug: the SDK must avoid the
# pattern. They are expected to fail; one that passes (a Brython upgrade fixed it) is reported as
# an unexpected pass, so that it can become a regular check.


@known_divergence
def dict_order_with_integer_like_str_keys() -> bool:
    # Brython keeps str keys in a JS object, which enumerates integer-like keys first.
    data = {"b": 1, "10": 2, "a": 3, "2": 4}
    expect(list(data), ["b", "10", "a", "2"], "insertion order")
    return True


@known_divergence
def lambda_in_comprehension_sees_loop_variable() -> bool:
    # Brython: every lambda returns <Javascript undefined> instead of the last value.
    functions = [lambda: i for i in range(3)]
    expect([f() for f in functions], [2, 2, 2], "late binding")
    return True


@known_divergence
def loop_variable_in_closure_reused_by_comprehension() -> bool:
    # Brython: a comprehension that reuses the name of a loop variable captured by a closure
    # leaves the closure seeing <Javascript undefined>.
    functions = []
    for i in range(3):
        functions.append(lambda: i)
    doubled = [i * 2 for i in range(2)]
    expect(([f() for f in functions], doubled), ([2, 2, 2], [0, 2]), "late binding")
    return True


# --- asynchronous checks: each reports through finish(name, error) exactly once -----------------


def guarded(name: str, finish: Finish, callback: Callable[..., None]) -> Callable[..., None]:
    """A callback for JS to call: any exception in it is reported as this check's failure."""

    def run_callback(*args: Any) -> None:
        try:
            callback(*args)
        except Exception as error:
            finish(name, describe(error))

    return run_callback


def promise_resolved_from_python(finish: Finish) -> None:
    name = "promise_resolved_from_python"

    def executor(resolve: Any, reject: Any) -> None:
        resolve(javascript.pyobj2jsobj({"value": 41}))

    def on_resolved(result: Any) -> None:
        # A plain JS object passed to a Python callback arrives as a dict.
        expect(result["value"] + 1, 42, "resolved value")
        finish(name, None)

    def on_rejected(reason: Any) -> None:
        finish(name, f"rejected: {reason}")

    promise = window.Promise.new(guarded(name, finish, executor))
    promise.then(guarded(name, finish, on_resolved)).catch(guarded(name, finish, on_rejected))


def timeout_calls_python(finish: Finish) -> None:
    name = "timeout_calls_python"
    started = window.Date.now()

    def later() -> None:
        expect(window.Date.now() >= started, True, "clock")
        finish(name, None)

    window.setTimeout(guarded(name, finish, later), 0)


ASYNC_CHECKS: list[Callable[[Finish], None]] = [promise_resolved_from_python, timeout_calls_python]


# --- running and publishing ----------------------------------------------------------------------


def describe(error: BaseException) -> str:
    try:
        return repr(error)
    except Exception:
        return type(error).__name__


def publish(done: bool) -> None:
    results = {
        "passed": len(PASSED),
        "failed": [{"name": name, "error": error} for name, error in FAILED],
        "knownDivergences": [{"name": name, "error": error} for name, error in STILL_DIVERGING],
        "unexpectedPasses": list(UNEXPECTED_PASSES),
        "pending": list(PENDING),
        "done": done,
    }
    window.brythonSelftest = javascript.pyobj2jsobj(results)


def finish(name: str, error: str | None) -> None:
    """Record an asynchronous check's outcome; the first report of each check counts."""
    if name not in PENDING:
        return
    PENDING.remove(name)
    if error is None:
        PASSED.append(name)
    else:
        FAILED.append((name, error))
    publish(not PENDING)


def attempt(function: Check) -> str | None:
    """Run one check: None when it passed, else a description of its failure."""
    try:
        result = function()
        if result is not True:
            raise AssertionError(f"returned {result!r} instead of True")
    except Exception as error:
        return describe(error)
    return None


def run() -> None:
    for function in CHECKS:
        error = attempt(function)
        if error is None:
            PASSED.append(function.__name__)
        else:
            FAILED.append((function.__name__, error))
    for function in KNOWN_DIVERGENCES:
        error = attempt(function)
        if error is None:
            UNEXPECTED_PASSES.append(function.__name__)
        else:
            STILL_DIVERGING.append((function.__name__, error))
    PENDING.extend(function.__name__ for function in ASYNC_CHECKS)
    publish(False)
    for function in ASYNC_CHECKS:
        try:
            function(finish)
        except Exception as error:
            finish(function.__name__, describe(error))


run()
