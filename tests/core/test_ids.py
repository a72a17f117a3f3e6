from __future__ import annotations

import random
import uuid

import pytest

from allegro_sdk.core.ids import is_uuid4, uuid4_from_bytes, uuid7_from


def test_zero_bytes_get_version_and_variant() -> None:
    assert uuid4_from_bytes([0] * 16) == "00000000-0000-4000-8000-000000000000"


def test_all_ones_bytes_get_version_and_variant() -> None:
    assert uuid4_from_bytes([0xFF] * 16) == "ffffffff-ffff-4fff-bfff-ffffffffffff"


def test_bytes_are_formatted_in_order() -> None:
    octets = list(range(16))
    assert uuid4_from_bytes(octets) == "00010203-0405-4607-8809-0a0b0c0d0e0f"


def test_does_not_change_its_input() -> None:
    octets = [0xAB] * 16
    assert uuid4_from_bytes(octets) == "abababab-abab-4bab-abab-abababababab"
    assert octets == [0xAB] * 16
    assert uuid4_from_bytes(list(bytes(16))) == "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("seed", range(50))
def test_agrees_with_the_stdlib(seed: int) -> None:
    octets = random.Random(seed).randbytes(16)
    text = uuid4_from_bytes(list(octets))
    expected = uuid.UUID(bytes=octets, version=4)
    assert text == str(expected)
    assert uuid.UUID(text).version == 4
    assert uuid.UUID(text).variant == uuid.RFC_4122
    assert is_uuid4(text)


@pytest.mark.parametrize("length", [0, 1, 15, 17, 32])
def test_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="16 random bytes"):
        uuid4_from_bytes([0] * length)


def test_accepts_what_uuid4_makes() -> None:
    for _ in range(200):
        assert is_uuid4(str(uuid.uuid4()))


@pytest.mark.parametrize("variant", "89ab")
def test_accepts_every_rfc_variant_digit(variant: str) -> None:
    assert is_uuid4(f"0f1e2d3c-4b5a-4978-{variant}695-a4b3c2d1e0f9")


@pytest.mark.parametrize(
    "text",
    [
        None,
        42,
        b"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "",
        "not-a-uuid",
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f",  # too short
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9a",  # too long
        " 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",  # uppercase
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fA",
        "0f1e2d3c4b5a-4978-8695-a4b3c2d1e0f9-",  # dashes in the wrong places
        "0f1e2d3c-4b5a-4978-8695_a4b3c2d1e0f9",
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0g9",  # not hex
        "0f1e2d3c-4b5a-1978-8695-a4b3c2d1e0f9",  # version 1
        "0f1e2d3c-4b5a-5978-8695-a4b3c2d1e0f9",  # version 5
        "0f1e2d3c-4b5a-4978-c695-a4b3c2d1e0f9",  # Microsoft variant
        "0f1e2d3c-4b5a-4978-7695-a4b3c2d1e0f9",  # NCS variant
        "00000000-0000-0000-0000-000000000000",  # nil UUID
        "{0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}",
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f\uff19",  # fullwidth digit
    ],
    ids=repr,
)
def test_rejects_malformed(text: object) -> None:
    assert not is_uuid4(text)


def test_rejects_version_1_uuids() -> None:
    assert not is_uuid4(str(uuid.uuid1()))


def test_rejects_uppercase_of_a_real_uuid4() -> None:
    assert not is_uuid4(str(uuid.uuid4()).upper())


def test_an_event_id_is_a_uuid_v7_of_its_time_and_the_random_bits() -> None:
    random_id = "0f1e2d3c-4b5a-4978-a695-a4b3c2d1e0f9"
    event_id = uuid7_from(random_id, 1_790_000_000_123)
    assert event_id == "01a0c450-6c7b-7978-a695-a4b3c2d1e0f9"
    parsed = uuid.UUID(event_id)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == 1_790_000_000_123  # unix_ts_ms, RFC 9562 section 5.7


def test_event_ids_sort_by_their_time() -> None:
    times = [0, 1, 1_790_000_000_000, 1_790_000_000_001, 2**48 - 1]
    ids = [uuid7_from(str(uuid.uuid4()), at) for at in times]
    assert sorted(ids) == ids
