"""numpy dtypes, the batch decoder and to_pandas, against the golden vectors and the scalar
decoder."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import tickbus
from tickbus.arrays import BAR, DTYPES, HEARTBEAT, QUOTE, TRADE, decode_batch, prices, to_pandas
from conftest import GOLDEN
from helpers import stamp

VECTORS = json.loads(GOLDEN.read_text())
BY_KIND = {}
for case in VECTORS["cases"]:
    message = bytes.fromhex(case["message_hex"])
    BY_KIND.setdefault(case["fields"]["kind"], []).append(message)
PRICES = {"trade": ("price",), "quote": ("bid_price", "ask_price"), "bar": ("open", "high", "low", "close", "vwap")}


def test_dtypes_match_the_wire_layout():
    assert (TRADE.itemsize, QUOTE.itemsize, BAR.itemsize, HEARTBEAT.itemsize) == (128, 112, 128, 104)
    for case in VECTORS["cases"]:
        kind = case["fields"]["kind"]
        if kind == "status":
            continue
        record = bytes.fromhex(case["record_hex"])
        row = np.frombuffer(record, DTYPES[kind])[0]
        assert row["sequence"] == case["fields"]["sequence"]
        assert row["symbol"].decode() == case["fields"]["symbol"]
        assert row.tobytes() == record


@pytest.mark.parametrize("kind", ["trade", "quote", "bar", "heartbeat"])
def test_batch_equals_the_scalar_decoder(kind):
    messages = BY_KIND[kind] * 3
    array = decode_batch(messages)
    assert array.dtype == DTYPES[kind] and len(array) == len(messages)
    for row, message in zip(array, messages):
        record = tickbus.decode(message)
        assert row["symbol"].decode() == record.symbol and row["epoch"] == record.epoch
        assert (row["ts_event"], row["ts_recv"], row["sequence"]) == (record.ts_event, record.ts_recv, record.sequence)
        for name in PRICES.get(kind, ()):
            assert row[name] == getattr(record, name + "_units")
    for name in PRICES.get(kind, ()):
        floats = prices(array, name)
        for value, message in zip(floats.tolist(), messages):
            expected = getattr(tickbus.decode(message), name)
            assert (math.isnan(value) and expected is None) or value == expected


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_batch_rejects_what_the_scalar_decoder_rejects(case):
    message = bytes.fromhex(case["message_hex"])
    i = message.find(b" ")
    code = message[i + 4] if 0 < i and len(message) > i + 4 else 1
    kind = {1: "trade", 2: "quote", 3: "bar", 5: "heartbeat"}.get(code, "trade")
    good = BY_KIND[kind][0]
    with pytest.raises(tickbus.WireError) as caught:
        decode_batch([good, message, good], kind=kind)
    assert caught.value.category == case["error"] and caught.value.index == 1
    array, errors = decode_batch([good, message, good], kind=kind, errors="drop")
    assert len(array) == 2 and [(n, e.category) for n, e in errors] == [(1, case["error"])]


def test_another_kind_in_a_batch_is_unexpected():
    with pytest.raises(tickbus.WireError) as caught:
        decode_batch([BY_KIND["trade"][0], BY_KIND["bar"][0]])
    assert caught.value.category == "unexpected_kind" and caught.value.index == 1


def test_cached_topics_do_not_hide_mismatches_in_batches():
    # A bar under the topic of another bar length (both 128 bytes, same symbol).
    minute = next(m for m in BY_KIND["bar"] if m.startswith(b"AM.MSFT "))
    wrong = b"B2m.MSFT " + minute[len(b"AM.MSFT "):]
    with pytest.raises(tickbus.WireError) as caught:
        decode_batch([minute, wrong])
    assert caught.value.category == "topic_mismatch" and caught.value.index == 1


def test_to_pandas_of_bars():
    bars = [stamp(m, 7, n + 1) for n, m in enumerate(BY_KIND["bar"])]
    frame = to_pandas(decode_batch(bars))
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    assert frame.index.name == "ts_event"
    assert list(frame["symbol"]) == [tickbus.decode(m).symbol for m in bars]
    assert frame["close"].dtype == np.float64 and frame["close"].iloc[0] == 30.02
    index_bar = frame[frame["symbol"] == "I:SPX"].iloc[0]
    assert math.isnan(index_bar["vwap"]) and math.isnan(index_bar["volume"])
    assert frame.index[0] == pd.Timestamp(tickbus.decode(bars[0]).ts_event, unit="ns", tz="UTC")
    assert "length" not in frame and "_reserved2" not in frame
    trades = to_pandas(decode_batch(BY_KIND["trade"]))
    assert trades["conditions"].iloc[0] == (12, 37) and trades["trade_id"].iloc[0] == "52983525029461"
