#!/usr/bin/env python3
"""Writes the seed corpora of tickbus-fuzz (Tests/fuzz/corpus/TARGET/) from the project's
fixtures (Tests/fixtures, Tests/golden) and a few hand-written inputs. Run from the repository
root; --check fails when the committed corpus differs from what this script writes."""

import json
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "Tests", "fuzz", "corpus")


def load(path):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60]


def massive_ws():
    spec = load("Tests/fixtures/massive/websocket-spec.json")
    seeds = {}
    by_market = {}
    for path, item in spec["paths"].items():
        try:
            example = item["get"]["responses"]["200"]["content"]["application/json"]["example"]
        except (KeyError, TypeError):
            continue
        if not isinstance(example, dict) or "ev" not in example:
            continue
        seeds[f"spec-{slug(path)}.json"] = json.dumps([example], separators=(",", ":"))
        market = path.strip("/").split("/")[-2]
        by_market.setdefault(market, []).append(example)
    for market, events in by_market.items():
        seeds[f"spec-{market}-all.json"] = json.dumps(events, separators=(",", ":"))
    seeds["status-auth.json"] = '[{"ev":"status","status":"auth_success","message":"authenticated"}]'
    seeds["status-escaped.json"] = '[{"ev":"status","status":"auth_failed","message":"bad \\"key\\" \\u00e9\\n"}]'
    seeds["single-object.json"] = '{"ev":"T","sym":"AAPL","p":"189.5","ds":"0.5","s":1,"t":1700000000000000000,"c":[0,12,14,37,41]}'
    seeds["mixed.json"] = ('[{"ev":"Q","sym":"AAPL","bp":1,"ap":2,"bs":3,"as":4,"t":1700000000123456},'
                           '{"sym":"X"},{"ev":"T","sym":"","p":1,"t":1},{"ev":"LULD","T":"A"},'
                           '{"ev":"T","sym":"AAPL","p":1e3,"t":1700000000000,"i":"123456789012345678901234567890"}]')
    return seeds


REST = {
    "aggs.json": """{"ticker":"AAPL","queryCount":3,"resultsCount":3,"adjusted":true,"results":[
{"v":642646396.0,"vw":1.469,"o":1.5032,"c":1.4604,"h":1.5064,"l":1.4489,"t":1112331600000,"n":82132},
{"v":1.029145e+06,"o":230,"c":230.01,"h":230.02,"l":229.99,"t":1112587200000,"otc":true,"extra":{"a":[1,{"b":null}]}},
{"v":0.5,"vw":12,"o":1,"c":2,"h":3,"l":0.5,"t":1112673600000,"n":7}
],"status":"OK","request_id":"6a7e466379af0a71039d60cc78e72282","count":3,
"next_url":"https://api.massive.com/v2/aggs/ticker/AAPL/range/1/day/1112331600000/1112673600000?cursor=bGltaXQ9Mw\\u003d\\u003d"}""",
    "trades.json": """{"results":[
{"conditions":[12,37],"exchange":11,"id":"52983525034006","participant_timestamp":1517562000015577000,
"price":171.55,"sequence_number":1063,"sip_timestamp":1517562000016036600,"size":100,"tape":3},
{"exchange":1,"id":7,"price":"0.5","decimal_size":"0.25","participant_timestamp":1517562000015577001,"conditions":[]}
],"status":"OK","request_id":"a47d1beb8c11b6ae897ab76cdbbf35a3","next_url":null}""",
    "quotes.json": """{"results":[
{"ask_exchange":0,"ask_price":0,"ask_size":0,"bid_exchange":11,"bid_price":102.7,"bid_size":60,
"conditions":[1],"participant_timestamp":1517562000065321200,"sequence_number":2060,"sip_timestamp":1517562000065700400,"tape":3},
{"ask_price":1.0925,"bid_price":1.0923,"ask_exchange":48,"bid_exchange":48,"participant_timestamp":1700000000000000000}
],"status":"OK"}""",
    "empty.json": '{"ticker":"AAPL","queryCount":0,"resultsCount":0,"adjusted":true,"results":null,"status":"OK"}',
    "error.json": '{"status":"ERROR","request_id":"x","error":"Unknown API Key"}',
    "skipped.json": '{"results":[{"o":1},{"t":"x","o":1,"h":1,"l":1,"c":1},{"t":99999999999999999,"o":1,"h":1,"l":1,"c":1}]}',
}

CONTROL = {
    "ping.json": '{"op":"ping"}',
    "status-token.json": '{"op":"status","token":"s3cret"}',
    "subscribe.json": '{"op":"subscribe","topics":["T.AAPL","A.*"]}',
    "unsubscribe.json": '{"op":"unsubscribe","topics":"Q.MSFT"}',
    "snapshot.json": '{"op":"snapshot","topics":["T.","B5m.AAPL","*"]}',
    "backfill-dates.json": '{"op":"backfill","symbol":"AAPL","from":"2025-03-03","to":"2025-03-04","timespan":"minute"}',
    "backfill-rfc3339.json": ('{"op":"backfill","symbol":"BTC-USD","from":"2025-03-04T14:30:00Z",'
                              '"to":"2025-03-04T09:30:00.25-05:00","timespan":"trade"}'),
    "backfill-unix.json": '{"op":"backfill","symbol":"EUR/USD","from":1741100000,"to":"1741186400000","timespan":"quote"}',
    "job.json": '{"op":"job","id":"bf-1"}',
    "jobs.json": '{ "op" : "jobs" , "extra" : [1, -2.5e3, true, false, null, {"a": "\\u00e9\\ud83d\\ude00\\n"}] }',
}

BAR_CSV = {
    "file.csv": ("ts_event,open,high,low,close,volume\n"
                 "2024-01-02 09:30:00+00:00,475.32,475.45,475.28,475.4,15234\n"
                 "2024-01-02 09:31:00+00:00,475.4,475.5,475.0,475.0,0.25\n"
                 "2024-01-03 00:00:00+00:00,0.0001,1e2,1,1,1.5e3\r\n"
                 "2024-02-29 23:59:59+00:00,1,1,1,1,1\n"),
    "bad-rows.csv": ("2024-01-02 09:30:00+01:00,1,1,1,1,1\n2024-02-30 09:30:00+00:00,1,1,1,1,1\n"
                     "2024-01-02T09:30:00+00:00,1,1,1,1,1\n2024-01-02 09:30:00+00:00,1,1,1,1\n"
                     "2024-01-02 09:30:00+00:00,1,,1,1,1\n2024-01-02 09:30:00+00:00,1,1,1,1,NaN\n"
                     "2024-01-02 09:30:00+00:00,1,x,1,1,1,7\n"),
}


def kdb():
    seeds = {}
    for i, v in enumerate(load("Tests/fixtures/kdb/real_q_vectors.json")["vectors"]):
        seeds[f"q-{i:03d}-{slug(v['q'])[:40]}.bin"] = bytes.fromhex(v["message_hex"])
    for i, v in enumerate(load("Tests/fixtures/kdb/golden_kx_b9.json")):
        seeds[f"kx-{i:03d}-{slug(v['name'])[:40]}.bin"] = bytes.fromhex(v["hex"])
    return seeds


def wire():
    golden = load("Tests/golden/wire-v1.json")
    seeds = {}
    for case in golden["cases"]:
        seeds[f"message-{slug(case['name'])}.bin"] = bytes.fromhex(case["message_hex"])
        seeds[f"record-{slug(case['name'])}.bin"] = bytes.fromhex(case["record_hex"])
    for case in golden["invalid"]:
        seeds[f"invalid-{slug(case['name'])}.bin"] = bytes.fromhex(case["message_hex"])
    return seeds


def journal():
    with open(os.path.join(ROOT, "Tests/golden/journal-v1.tbj"), "rb") as f:
        data = f.read()
    seeds = {"golden.tbj": data}
    for variant in load("Tests/golden/journal-v1.json")["malformed"]:
        bad = bytearray(data)
        if variant.get("truncate") is not None:
            bad = bad[:variant["truncate"]]
        if variant.get("flip") is not None:
            bad[variant["flip"]] ^= 0xFF
        seeds[f"{slug(variant['name'])}.tbj"] = bytes(bad)
    return seeds


def replay():
    def short(b):
        return bytes([len(b)]) + b

    def request(start, credit=16, time=0, epoch=0, filters=(), positions=()):
        body = struct.pack("<HHIqI", 1, start, credit, time, epoch)
        body += struct.pack("<H", len(filters)) + b"".join(short(f) for f in filters)
        body += struct.pack("<I", len(positions))
        body += b"".join(short(t) + struct.pack("<Q", s) for t, s in positions)
        return body

    hole = struct.pack("<IHI", 7, 1, 2) + struct.pack("<H", 6) + b"T.AAPL" + struct.pack("<QQ", 3, 9) \
        + struct.pack("<H", 5) + b"Q.SPY" + struct.pack("<QQ", 1, 1)
    return {
        "beginning.bin": request(0),
        "time.bin": request(1, time=1_704_205_800_000_000_000, filters=[b"T.", b"Q.AAPL "]),
        "after.bin": request(2, epoch=0x5F3A9C01, time=1_704_205_800_000_000_000, filters=[b""],
                             positions=[(b"T.AAPL", 1234), (b"B1m.SPY", 9)]),
        "hole.bin": hole,
        "end.bin": struct.pack("<Qq", 30_000, 1_704_205_800_000_000_000),
        "error.bin": struct.pack("<H", 2) + b"epoch 5f3a9c01 is not in the journal",
    }


def corpora():
    return {
        "massive-ws": massive_ws(),
        "rest-page": REST,
        "control": CONTROL,
        "kdb-ipc": kdb(),
        "bar-csv": BAR_CSV,
        "wire": wire(),
        "journal": journal(),
        "replay": replay(),
    }


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for target, seeds in corpora().items():
        directory = os.path.join(CORPUS, target)
        os.makedirs(directory, exist_ok=True)
        for name, data in seeds.items():
            data = data.encode() if isinstance(data, str) else data
            path = os.path.join(directory, name)
            if check:
                if not os.path.exists(path) or open(path, "rb").read() != data:
                    stale.append(path)
            else:
                with open(path, "wb") as f:
                    f.write(data)
    if stale:
        sys.exit("seed corpus out of date (run python3 Tests/fuzz/make_seeds.py):\n  " + "\n  ".join(stale))


if __name__ == "__main__":
    main()
