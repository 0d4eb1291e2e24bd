"""Subscriber, batch subscriber and asyncio subscriber against a pyzmq XPUB sending golden
records with skipped sequences, a duplicate, an invalid message, another symbol and an epoch
change; heartbeat silence and resumption; exact-topic matching."""

import asyncio
import struct
import time

import pytest

from tickbus import (
    AsyncSubscriber, Event, Gap, Invalid, Quote, Restart, Resumed, Silent, Subscriber, Trade,
    TopicError, TopicFilter, decode,
)
from helpers import CASES, BusPublisher, stamp

QUOTE = CASES["quote_stock_nbbo"]        # Q.AAPL
TRADE = CASES["trade_stock_conditions_trade_id"]  # T.AAPL
HEARTBEAT = CASES["heartbeat"]           # H.ingest


def other_symbol(message: bytes, topic: bytes, symbol: bytes) -> bytes:
    """`message` re-addressed to another symbol (a valid record under `topic`)."""
    record = bytearray(message[message.index(b" ") + 1:])
    record[40:64] = symbol.ljust(24, b"\0")
    return topic + b" " + bytes(record)


def reserved_set(message: bytes) -> bytes:
    out = bytearray(message)
    out[-1] = 1  # the quote's reserved byte 111
    return bytes(out)


def publish_scenario(pub):
    pub.send(
        stamp(HEARTBEAT, 7, 1),
        stamp(QUOTE, 7, 1), stamp(QUOTE, 7, 2), stamp(QUOTE, 7, 6),
        stamp(TRADE, 7, 1),
        stamp(QUOTE, 7, 6),                                   # duplicate: stale
        reserved_set(stamp(QUOTE, 7, 7)),                     # invalid: bad_field
        other_symbol(stamp(TRADE, 7, 1), b"T.AAPLW", b"AAPLW"),  # not T.AAPL: filtered out
        stamp(QUOTE, 9, 1),                                   # publisher restarted
        stamp(TRADE, 9, 1),
        stamp(HEARTBEAT, 9, 1),
    )


def summary(item):
    if isinstance(item, Event):
        if isinstance(item, Invalid):
            return ("invalid", item.category)
        return item
    return (item.topic, item.epoch, item.sequence)


EXPECTED = [
    ("Q.AAPL", 7, 1), ("Q.AAPL", 7, 2), Gap("Q.AAPL", 3, 6, 3), ("Q.AAPL", 7, 6), ("T.AAPL", 7, 1),
    ("invalid", "bad_field"), Restart("Q.AAPL", 7, 9), ("Q.AAPL", 9, 1), ("T.AAPL", 9, 1),
]


def check_counters(c):
    assert (c.records, c.gaps, c.lost, c.restarts, c.stale, c.invalid, c.heartbeats) == (
        6, 1, 3, 1, 1, {"bad_field": 1}, 2)


def nothing(item):
    """True for what a read returns when nothing came: None, or an empty batch."""
    return item is None or (not isinstance(item, (Event, Quote, Trade)) and len(item) == 0 and not item.events)


def settle(sub, read):
    """Reads until the scenario's closing heartbeat is counted (it may still be in flight after
    the last record), checking nothing else arrives; then checks the counters."""
    deadline = time.monotonic() + 20
    while sub.counters.heartbeats < 2 and time.monotonic() < deadline:
        assert nothing(read(timeout=0.2))
    assert nothing(read(timeout=0.2))
    check_counters(sub.counters)


async def settle_async(sub, read):
    """`settle` for an `AsyncSubscriber`."""
    deadline = time.monotonic() + 20
    while sub.counters.heartbeats < 2 and time.monotonic() < deadline:
        assert nothing(await read(timeout=0.2))
    assert nothing(await read(timeout=0.2))
    check_counters(sub.counters)


@pytest.fixture
def pub():
    publisher = BusPublisher()
    yield publisher
    publisher.close()


def test_gaps_restart_duplicates_and_invalid_in_order(pub):
    with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], heartbeat_timeout=60) as sub:
        pub.wait_for([b"Q.AAPL ", b"T.AAPL ", b"H."])
        publish_scenario(pub)
        items = []
        while len(items) < len(EXPECTED):
            item = sub.next(timeout=20)
            assert item is not None, items
            items.append(item)
        assert [summary(i) for i in items] == EXPECTED
        settle(sub, sub.next)
        records = [i for i in items if not isinstance(i, Event)]
        assert isinstance(records[0], Quote) and isinstance(records[3], Trade)
        assert records[0] == decode(stamp(QUOTE, 7, 1))


def test_batches_give_the_same_records_and_events(pub):
    with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], heartbeat_timeout=60) as sub:
        pub.wait_for([b"Q.AAPL ", b"T.AAPL ", b"H."])
        publish_scenario(pub)
        quotes, trades, events = [], [], []
        deadline = time.monotonic() + 20
        while len(quotes) + len(trades) < 6 or len(events) < 3:
            # A batch that held only a heartbeat is empty (not subscribed to H.).
            batch = sub.next_batch(timeout=20)
            assert time.monotonic() < deadline
            quotes += list(zip(batch.quotes["epoch"].tolist(), batch.quotes["sequence"].tolist()))
            trades += list(zip(batch.trades["epoch"].tolist(), batch.trades["sequence"].tolist()))
            events += [summary(e) for e in batch.events]
            assert len(batch.heartbeats) == 0  # not subscribed to H.
        assert quotes == [(7, 1), (7, 2), (7, 6), (9, 1)]
        assert trades == [(7, 1), (9, 1)]
        assert events == [e for e in EXPECTED if isinstance(e, Event) or e[0] == "invalid"]
        settle(sub, sub.next_batch)


def test_asyncio_batches_give_the_same_records_and_events(pub):
    async def run():
        async with AsyncSubscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], heartbeat_timeout=60) as sub:
            await asyncio.get_running_loop().run_in_executor(
                None, pub.wait_for, [b"Q.AAPL ", b"T.AAPL ", b"H."])
            publish_scenario(pub)
            quotes, trades, events = [], [], []
            deadline = time.monotonic() + 20
            while len(quotes) + len(trades) < 6 or len(events) < 3:
                # A batch that held only a heartbeat is empty (not subscribed to H.).
                batch = await sub.next_batch(timeout=20)
                assert time.monotonic() < deadline
                quotes += list(zip(batch.quotes["epoch"].tolist(), batch.quotes["sequence"].tolist()))
                trades += list(zip(batch.trades["epoch"].tolist(), batch.trades["sequence"].tolist()))
                events += [summary(e) for e in batch.events]
            await settle_async(sub, sub.next_batch)
            return quotes, trades, events

    quotes, trades, events = asyncio.run(run())
    assert quotes == [(7, 1), (7, 2), (7, 6), (9, 1)]
    assert trades == [(7, 1), (9, 1)]
    assert events == [e for e in EXPECTED if isinstance(e, Event) or e[0] == "invalid"]


def test_asyncio_subscriber_sees_the_same(pub):
    async def run():
        async with AsyncSubscriber(pub.endpoint, ["Q.AAPL", "T.AAPL"], heartbeat_timeout=60) as sub:
            await asyncio.get_running_loop().run_in_executor(
                None, pub.wait_for, [b"Q.AAPL ", b"T.AAPL ", b"H."])
            publish_scenario(pub)
            items = []
            while len(items) < len(EXPECTED):
                item = await sub.next(timeout=20)
                assert item is not None, items
                items.append(item)
            await settle_async(sub, sub.next)
            return items

    assert [summary(i) for i in asyncio.run(run())] == EXPECTED


def test_silence_without_any_heartbeat_then_silent_and_resumed(pub):
    with Subscriber(pub.endpoint, ["H.ingest"], heartbeat_timeout=0.3) as sub:
        pub.wait_for([b"H.ingest ", b"H."])
        first = sub.next(timeout=20)
        assert first == Silent(None, first.silent_for) and first.silent_for >= 0.3
        pub.send(stamp(HEARTBEAT, 7, 1))
        assert summary(sub.next(timeout=20)) == ("H.ingest", 7, 1)
        silent = sub.next(timeout=20)
        assert isinstance(silent, Silent) and silent.publisher == "ingest" and silent.silent_for >= 0.3
        pub.send(stamp(HEARTBEAT, 7, 3))
        assert sub.next(timeout=20) == Resumed("ingest")
        assert sub.next(timeout=20) == Gap("H.ingest", 2, 3, 1)
        assert summary(sub.next(timeout=20)) == ("H.ingest", 7, 3)


def test_topic_filters_mirror_the_swift_rules():
    assert TopicFilter("T.AAPL").prefix == b"T.AAPL "
    assert TopicFilter("T.").prefix == TopicFilter("T.*").prefix == b"T."
    assert TopicFilter("T.AA*").prefix == b"T.AA"
    assert TopicFilter("*").prefix == TopicFilter("").prefix == b""
    assert TopicFilter("B1min.").prefix == b"B1m."
    assert TopicFilter("B60s.AAPL").prefix == b"B1m.AAPL "
    assert TopicFilter("B90s.X").prefix == b"B90s.X "
    assert TopicFilter("T.BRK.B").prefix == b"T.BRK.B "
    assert str(TopicFilter("T.AAPL")) == "T.AAPL" and str(TopicFilter("T.AA*")) == "T.AA*"
    for bad, why in [("X.AAPL", "unknown topic kind"), ("AAPL", "no dot"), ("T.", None),
                     ("T.A APL", "bad symbol"), ("T." + "A" * 25, "bad symbol"), ("B0s.X", "unknown topic kind")]:
        if why is None:
            continue
        with pytest.raises(TopicError, match=why):
            TopicFilter(bad)


def test_exact_topic_does_not_deliver_a_longer_symbol(pub):
    with Subscriber(pub.endpoint, ["T.AAPL"], heartbeat_timeout=60) as exact, \
            Subscriber(pub.endpoint, ["T.AAPL*"], heartbeat_timeout=60) as prefix:
        pub.wait_for([b"T.AAPL ", b"T.AAPL"])
        pub.send(other_symbol(stamp(TRADE, 7, 1), b"T.AAPLW", b"AAPLW"), stamp(TRADE, 7, 1))
        assert summary(exact.next(timeout=20)) == ("T.AAPL", 7, 1)
        assert summary(prefix.next(timeout=20)) == ("T.AAPLW", 7, 1)
        assert summary(prefix.next(timeout=20)) == ("T.AAPL", 7, 1)


def test_batches_in_order_then_a_gap(pub):
    with Subscriber(pub.endpoint, ["Q.AAPL", "T.AAPL", "H."], heartbeat_timeout=60) as sub:
        pub.wait_for([b"Q.AAPL ", b"T.AAPL ", b"H."])
        stream = [stamp(HEARTBEAT, 7, 1)]
        for n in range(1, 51):
            stream += [stamp(QUOTE, 7, n), stamp(TRADE, 7, n)]
        pub.send(*stream)
        quotes, trades, heartbeats = [], [], []
        while len(quotes) + len(trades) + len(heartbeats) < len(stream):
            batch = sub.next_batch(timeout=20)
            assert not batch.events and len(batch)
            quotes += batch.quotes["sequence"].tolist()
            trades += batch.trades["sequence"].tolist()
            heartbeats += batch.heartbeats["sequence"].tolist()
        assert quotes == trades == list(range(1, 51)) and heartbeats == [1]
        pub.send(stamp(QUOTE, 7, 53), stamp(TRADE, 7, 51), stamp(QUOTE, 7, 53))
        events, records = [], 0
        while records < 2 or sub.counters.stale < 1:
            batch = sub.next_batch(timeout=20)
            events += batch.events
            records += len(batch)
        assert events == [Gap("Q.AAPL", 51, 53, 2)]
        assert (sub.counters.records, sub.counters.gaps, sub.counters.lost, sub.counters.stale) == (103, 1, 2, 1)
