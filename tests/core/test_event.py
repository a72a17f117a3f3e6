from __future__ import annotations

import json

import pytest

from allegro_sdk.core.errors import InvalidCallError, TrackingError
from allegro_sdk.core.event import (
    STRING_FIELDS,
    check_custom_data,
    check_event_name,
    check_fields,
    describe,
    merge_fields,
    utf8_length,
)
from allegro_sdk.core.protocol import MAX_DATA_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS


def name_error(name: object) -> str:
    with pytest.raises(InvalidCallError) as caught:
        check_event_name(name)
    return caught.value.message


def fields_error(data: object) -> str:
    with pytest.raises(InvalidCallError) as caught:
        check_fields(data)
    return caught.value.message


# --- event name -------------------------------------------------------------------------------


def test_limits_are_the_protocols() -> None:
    assert MAX_NAME_CHARS == 128
    assert MAX_TEXT_CHARS == 2048
    assert MAX_DATA_BYTES == 16 * 1024


def test_invalid_call_error_is_a_tracking_error_with_a_message() -> None:
    error = InvalidCallError("why")
    assert isinstance(error, TrackingError)
    assert error.message == "why"
    assert InvalidCallError().message == "InvalidCallError"


def test_valid_name_is_returned() -> None:
    assert check_event_name("page_view") == "page_view"


def test_name_is_trimmed() -> None:
    assert check_event_name("  article_read\n") == "article_read"


def test_missing_name() -> None:
    assert "track() needs an event name" in name_error(None)
    assert "allegro.track('page_view')" in name_error(None)


@pytest.mark.parametrize(
    ("name", "described"),
    [
        (42, "the number 42"),
        (1.5, "the number 1.5"),
        (True, "a boolean"),
        (["a"], "an array"),
        ({"a": 1}, "an object"),
        (object(), "a object"),
    ],
    ids=repr,
)
def test_non_string_name(name: object, described: str) -> None:
    message = name_error(name)
    assert "the event name must be a string" in message
    assert message.endswith(f"got {described}")


@pytest.mark.parametrize("name", ["", " ", "\t\n  "])
def test_empty_name(name: str) -> None:
    assert "the event name must not be empty" in name_error(name)


def test_name_at_the_limit_is_accepted() -> None:
    assert check_event_name("n" * 128) == "n" * 128
    # Surrounding whitespace does not count.
    assert check_event_name(" " + "n" * 128 + " ") == "n" * 128


def test_too_long_name() -> None:
    message = name_error("n" * 129)
    assert "the event name is 129 characters long; the limit is 128" in message


def test_name_length_counts_characters_not_bytes() -> None:
    assert check_event_name("é" * 128) == "é" * 128
    assert "is 129 characters long" in name_error("é" * 129)


# --- fields -------------------------------------------------------------------------------------


def test_no_fields() -> None:
    assert check_fields(None) == {}
    assert check_fields({}) == {}


def test_every_string_field_is_accepted() -> None:
    data: dict[str, object] = {key: f"value of {key}" for key in STRING_FIELDS}
    assert check_fields(data) == data


def test_spec_fields_are_exactly_the_specs_plus_canonical_url() -> None:
    assert set(STRING_FIELDS) == {
        "url",
        "canonical_url",  # the content's own address; `url` is the address as visited
        "referer",
        "page_title",
        "content_type",
        "content_id",
        "publisher",
        "object_type",
        "object_id",
        "context",
        "conversion_pv_id",
        "url_in_click",
    }


@pytest.mark.parametrize(
    ("data", "described"),
    [("x", "a string"), (3, "the number 3"), ([1], "an array"), (False, "a boolean")],
    ids=repr,
)
def test_fields_must_be_an_object(data: object, described: str) -> None:
    message = fields_error(data)
    assert "the second argument must be a plain object of fields" in message
    assert message.endswith(f"got {described}")


@pytest.mark.parametrize(
    "key", ["color", "URL", "event_name", "session_id", "device_id", "timestamp", "event_id"]
)
def test_unknown_field_is_named(key: str) -> None:
    message = fields_error({"content_id": "a", key: "x"})
    assert f"unknown field '{key}'" in message
    assert "custom values go inside data" in message


@pytest.mark.parametrize(
    ("value", "described"),
    [(7, "the number 7"), (True, "a boolean"), (["a"], "an array"), ({"a": 1}, "an object")],
    ids=repr,
)
def test_non_string_field(value: object, described: str) -> None:
    assert fields_error({"content_id": value}) == (
        f"track(): 'content_id' must be a string, got {described}"
    )


def test_a_field_with_a_nul_character_is_a_wrong_call() -> None:
    """The collector refuses it (a database text column cannot hold U+0000): said at the call."""
    assert fields_error({"page_title": "a\x00b"}) == (
        "track(): 'page_title' contains a NUL character (U+0000), which cannot be stored"
    )
    assert check_fields({"data": {"note": "a\x00b"}}) == {"data": {"note": "a\x00b"}}


def test_none_values_are_skipped() -> None:
    assert check_fields({"content_id": None, "data": None, "publisher": "p"}) == {"publisher": "p"}


def test_string_fields_are_trimmed() -> None:
    assert check_fields({"content_id": "  article-456 \n"}) == {"content_id": "article-456"}


def test_string_fields_are_capped() -> None:
    fields = check_fields({"url": "u" * 5000, "context": "c" * 2048})
    assert fields == {"url": "u" * 2048, "context": "c" * 2048}


def test_trimming_happens_before_capping() -> None:
    fields = check_fields({"page_title": " " * 10 + "t" * 2048 + " "})
    assert fields == {"page_title": "t" * 2048}


# --- custom data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "described"),
    [("s", "a string"), (1, "the number 1"), ([1], "an array"), (True, "a boolean")],
    ids=repr,
)
def test_data_must_be_an_object(value: object, described: str) -> None:
    assert fields_error({"data": value}) == (
        f"track(): 'data' must be a plain object, got {described}"
    )


def test_data_is_kept_as_given() -> None:
    data: dict[str, object] = {"product_id": "sku-789", "price": 9.99, "tags": ["a"], "n": None}
    assert check_fields({"data": data}) == {"data": data}


def test_data_at_the_limit_is_accepted() -> None:
    overhead = len('{"k":""}')
    data = {"k": "x" * (MAX_DATA_BYTES - overhead)}
    assert len(json.dumps(data, separators=(",", ":")).encode()) == MAX_DATA_BYTES
    assert check_custom_data(data) is data


def test_data_over_the_limit_is_refused_with_its_size() -> None:
    overhead = len('{"k":""}')
    data = {"k": "x" * (MAX_DATA_BYTES - overhead + 1)}
    assert fields_error({"data": data}) == (
        "track(): 'data' is 16385 bytes as JSON; the limit is 16384"
    )


def test_data_size_is_counted_in_utf8_bytes() -> None:
    # 6000 two-byte characters: 6008 characters of JSON, but 12008 bytes.
    assert check_custom_data({"k": "é" * 6000})
    # 9000 two-byte characters are under 16 KiB as characters but over it as bytes.
    message = fields_error({"data": {"k": "é" * 9000}})
    assert "'data' is 18008 bytes as JSON; the limit is 16384" in message


def test_data_size_counts_escapes() -> None:
    # Each newline is two characters once escaped.
    overhead = len('{"k":""}')
    half = (MAX_DATA_BYTES - overhead) // 2
    assert check_custom_data({"k": "\n" * half})
    assert "bytes as JSON" in fields_error({"data": {"k": "\n" * (half + 1)}})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"price": float("nan")}, "NaN and Infinity"),
        ({"nested": {"x": float("inf")}}, "NaN and Infinity"),
        ({1: "a"}, "keys must be strings"),
        ({"s": {1, 2}}, "set values cannot be sent as JSON"),
    ],
    ids=repr,
)
def test_data_that_cannot_be_json_is_refused(data: object, reason: str) -> None:
    message = fields_error({"data": data})
    assert message.startswith("track(): 'data' cannot be sent: ")
    assert reason in message


# --- merge ---------------------------------------------------------------------------------------


def test_merge_has_every_field_defaulting_to_none() -> None:
    merged = merge_fields({}, {})
    assert merged == {**dict.fromkeys(STRING_FIELDS), "data": None}


def test_merge_takes_page_values() -> None:
    page = {"url": "https://a.example/p", "page_title": "Title", "referer": "https://r.example/"}
    merged = merge_fields(page, {})
    assert merged["url"] == "https://a.example/p"
    assert merged["page_title"] == "Title"
    assert merged["referer"] == "https://r.example/"
    assert merged["content_id"] is None


def test_explicit_values_win_field_by_field() -> None:
    page = {"url": "https://a.example/p", "page_title": "Page title", "publisher": "Page pub"}
    explicit: dict[str, object] = {"page_title": "Mine", "content_id": "c-1", "data": {"k": 1}}
    merged = merge_fields(page, explicit)
    assert merged["page_title"] == "Mine"
    assert merged["content_id"] == "c-1"
    assert merged["data"] == {"k": 1}
    # Fields the caller did not give keep the page's values.
    assert merged["url"] == "https://a.example/p"
    assert merged["publisher"] == "Page pub"


def test_page_values_are_capped() -> None:
    merged = merge_fields({"url": "u" * 3000, "page_title": "t" * 2049}, {})
    assert merged["url"] == "u" * 2048
    assert merged["page_title"] == "t" * 2048


def test_empty_page_values_stay_none() -> None:
    merged = merge_fields({"url": "", "page_title": ""}, {})
    assert merged["url"] is None
    assert merged["page_title"] is None


def test_unknown_page_keys_are_ignored() -> None:
    merged = merge_fields({"color": "red", "event_name": "x", "url": "u"}, {})
    assert "color" not in merged
    assert "event_name" not in merged
    assert merged["url"] == "u"


def test_merge_does_not_change_its_inputs() -> None:
    page = {"url": "u" * 3000}
    explicit: dict[str, object] = {"content_id": "c"}
    merge_fields(page, explicit)
    assert page == {"url": "u" * 3000}
    assert explicit == {"content_id": "c"}


def test_explicit_values_over_page_values_after_validation() -> None:
    explicit = check_fields({"url": "  https://mine.example/ ", "referer": None})
    merged = merge_fields(
        {"url": "https://page.example/", "referer": "https://r.example/"}, explicit
    )
    assert merged["url"] == "https://mine.example/"
    # None means "not given": the page's value stays.
    assert merged["referer"] == "https://r.example/"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "nothing"),
        (True, "a boolean"),
        (0, "the number 0"),
        (2.5, "the number 2.5"),
        ("", "a string"),
        ((), "an array"),
        ([], "an array"),
        ({}, "an object"),
    ],
    ids=repr,
)
def test_describe(value: object, text: str) -> None:
    assert describe(value) == text


@pytest.mark.parametrize(
    "text", ["", "plain", "café", "日本語", "😀 emoji", "\x7f\x80\u07ff\u0800\uffff"]
)
def test_utf8_length_matches_the_stdlib_encoder(text: str) -> None:
    assert utf8_length(text) == len(text.encode("utf-8"))


def test_describe_uses_a_foreign_values_own_description() -> None:
    class Foreign:
        description = "a JavaScript Date"

    assert describe(Foreign()) == "a JavaScript Date"
