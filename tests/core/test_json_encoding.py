from __future__ import annotations

import json

import pytest

from allegro_sdk.core.json_encoding import encode, encode_string

CONTROL_CHARS = "".join(chr(code) for code in range(0x20))

CASES: list[object] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**53,
    -(2**63),
    10**30,
    0.0,
    -0.0,
    1.5,
    -2.25,
    9.99,
    0.1 + 0.2,
    1e16,
    1e-7,
    1.7976931348623157e308,
    5e-324,
    123456789.123456789,
    "",
    "plain",
    'say "hi"',
    "back\\slash",
    '\\"',
    "/slash/",
    "line\nbreak\rcarriage\ttab\bback\fform",
    CONTROL_CHARS,
    "\x00nul",
    "\x1f\x7f\x80\x9f",
    "\u2028\u2029",
    "café",
    "Ünïcödé \u2013 \u201cquotes\u201d",
    "日本語のテキスト",
    "emoji 😀🎉👍🏽",
    "👨‍👩‍👧‍👦",
    "\ufeffbom",
    "\uffff",
    [],
    {},
    [1, "two", 3.0, None, True, False],
    ["nested", ["deeper", ["deepest", {}]]],
    {"a": 1, "b": [1, 2, {"c": None}], "d": {"e": {"f": "g"}}},
    {'key with "quote"': "v", "new\nline": "\t", "ключ": "значение", "😀": "🎉"},
    {"z": 1, "a": 2, "m": 3},
    {"price": 9.99, "currency": "USD", "qty": 3, "tags": ["a", "b"], "gift": False},
    {"empty": "", "list": [], "obj": {}, "null": None},
    [[[[[[[[[[1]]]]]]]]]],
]


def stdlib(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", CASES, ids=repr)
def test_output_matches_the_stdlib(value: object) -> None:
    assert encode(value) == stdlib(value)


@pytest.mark.parametrize("value", CASES, ids=repr)
def test_output_round_trips_through_json_loads(value: object) -> None:
    decoded = json.loads(encode(value))
    assert decoded == value
    # -0.0 == 0.0, so compare the text again to be sure the sign survived.
    assert stdlib(decoded) == stdlib(value)


@pytest.mark.parametrize("code", range(0x20))
def test_every_control_char_is_escaped(code: int) -> None:
    text = encode_string(chr(code))
    assert text == stdlib(chr(code))
    assert all(ord(char) >= 0x20 for char in text)


def test_all_unicode_planes_sample_matches_the_stdlib() -> None:
    # A sweep over the BMP outside the surrogates, and a sample of the astral planes.
    text = "".join(chr(code) for code in range(0x20, 0xD800, 7))
    text += "".join(chr(code) for code in range(0xE000, 0x10000, 5))
    text += "".join(chr(code) for code in range(0x10000, 0x110000, 997))
    assert encode(text) == stdlib(text)
    assert json.loads(encode(text)) == text


def test_tuples_are_arrays() -> None:
    assert encode((1, "a", (None,))) == stdlib((1, "a", (None,))) == '[1,"a",[null]]'


def test_big_nested_structure_matches_the_stdlib() -> None:
    value: dict[str, object] = {
        f"key{index}": [index, str(index) * index, {"f": index / 7, "b": index % 2 == 0}]
        for index in range(200)
    }
    assert encode(value) == stdlib(value)


@pytest.mark.parametrize("code", [0xD800, 0xDBFF, 0xDC00, 0xDFFF])
def test_lone_surrogates_are_escaped_so_the_text_is_valid_utf8(code: int) -> None:
    text = f"a{chr(code)}b"
    encoded = encode(text)
    assert encoded == f'"a\\u{code:04x}b"'
    encoded.encode("utf-8")  # would raise UnicodeEncodeError if the surrogate stayed raw
    assert json.loads(encoded) == text


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        [1, float("nan")],
        {"a": {"b": float("inf")}},
    ],
    ids=repr,
)
def test_non_finite_numbers_raise(value: object) -> None:
    with pytest.raises(ValueError, match="NaN and Infinity"):
        encode(value)


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {None: "a"}, {("t",): 1}, {"ok": {2.5: "x"}}, [{True: 1}]],
    ids=repr,
)
def test_non_string_keys_raise(value: object) -> None:
    with pytest.raises(ValueError, match="keys must be strings"):
        encode(value)


class Custom:
    pass


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        (Custom(), "Custom"),
        (object(), "object"),
        (1 + 2j, "complex"),
        ({"nested": [frozenset()]}, "frozenset"),
    ],
    ids=repr,
)
def test_unsupported_types_raise_naming_the_type(value: object, type_name: str) -> None:
    with pytest.raises(ValueError, match=f"^{type_name} values cannot be sent as JSON$"):
        encode(value)
