"""The golden vectors of docs/wire-format.md decode to the values the Swift tests check, and
every malformed message fails with the category the Swift decoder gives."""

import math
import struct
from decimal import Decimal

import pytest

import tickbus
from tickbus import WireError, decode
from tickbus.format import format_json, format_text
from conftest import GOLDEN
import json

CASES = json.loads(GOLDEN.read_text())
PRICES = {
    "trade": ["price"], "quote": ["bid_price", "ask_price"],
    "bar": ["open", "high", "low", "close", "vwap"],
}
FLOATS = {"size", "bid_size", "ask_size", "volume"}


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["name"])
def test_valid_case_decodes_to_its_fields(case):
    message = bytes.fromhex(case["message_hex"])
    record = decode(message)
    fields = case["fields"]
    assert record.kind == fields["kind"]
    assert record.topic == case["topic"] == tickbus.topic_of(record)
    assert tickbus.MARKETS[record.market] == record.market_name == fields["market"]
    assert record.flag_names == fields["flags"]
    assert message[len(case["topic"]) + 1:] == bytes.fromhex(case["record_hex"])
    for name, value in fields.items():
        if name in ("kind", "market", "flags"):
            continue
        if name in PRICES.get(fields["kind"], ()):
            units = getattr(record, name + "_units")
            if value is None:
                assert units == tickbus.NULL_PRICE and getattr(record, name) is None
            else:
                exact = Decimal(value).scaleb(9)
                assert units == int(exact) and exact == int(exact)
                assert getattr(record, name) == float(Decimal(value))
        elif name in FLOATS:
            got = getattr(record, name)
            if value is None:
                # The canonical quiet NaN, bits kept as they are.
                assert math.isnan(got) and struct.pack("<d", got) == struct.pack("<Q", 0x7FF8000000000000)
            else:
                assert got == float(value)
        elif name == "level":
            assert record.level_name == value
        elif name == "conditions":
            assert list(record.conditions) == value
        else:
            assert getattr(record, name) == value, name


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda c: c["name"])
def test_invalid_case_fails_with_its_category(case):
    with pytest.raises(WireError) as caught:
        decode(bytes.fromhex(case["message_hex"]))
    assert caught.value.category == case["error"]
    assert str(caught.value)


def test_every_category_of_the_spec_is_covered():
    categories = {c["error"] for c in CASES["invalid"]}
    assert categories == {
        "no_topic_separator", "too_short", "length_mismatch", "unsupported_version", "unknown_kind",
        "unknown_market", "unknown_flags", "bad_field", "wrong_size", "topic_mismatch",
    }


def test_decoding_twice_uses_the_topic_cache_but_still_checks():
    case = CASES["cases"][0]
    message = bytes.fromhex(case["message_hex"])
    assert decode(message) == decode(message)
    # Same topic, another symbol field: the cached topic must not let it through.
    other = bytearray(message)
    start = len(case["topic"]) + 1 + 40
    other[start:start + 4] = b"MSFT"
    with pytest.raises(WireError) as caught:
        decode(bytes(other))
    assert caught.value.category == "topic_mismatch"


def test_datetime_helpers_and_json_lines():
    record = decode(bytes.fromhex(CASES["cases"][0]["message_hex"]))
    assert record.event_time.isoformat() == "2024-01-02T14:30:00.123456+00:00"
    line = json.loads(format_json(record))
    assert line["price"] == 114.125 and line["time"] == "2024-01-02T14:30:00.123456789Z"
    assert format_text(record) == (
        "2024-01-02T14:30:00.123456789Z T.AAPL #1 114.125 x100 ex=4 tape=3 cond=12,37 id=52983525029461")


def test_null_prices_and_nan_volume_in_lines():
    case = next(c for c in CASES["cases"] if c["name"] == "bar_index_null_vwap_nan_volume")
    bar = decode(bytes.fromhex(case["message_hex"]))
    assert bar.vwap is None and math.isnan(bar.volume)
    line = json.loads(format_json(bar))
    assert line["vwap"] is None and line["volume"] is None
    assert "vwap" not in format_text(bar) and " V null" in format_text(bar)


def test_garbage_never_raises_anything_but_wire_error():
    import random

    rng = random.Random(7)
    seeds = [bytes.fromhex(c["message_hex"]) for c in CASES["cases"]]
    for _ in range(20000):
        message = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            message[rng.randrange(len(message))] = rng.randrange(256)
        if rng.random() < 0.2:
            message = message[:rng.randrange(len(message) + 1)]
        try:
            decode(bytes(message))
        except WireError:
            pass
