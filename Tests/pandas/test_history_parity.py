"""`tickbus history resample` and `validate` against the old pipeline's pandas code, byte for byte.

Each test writes a month of 1-second bars of one shape (the number forms pandas types a column
by), runs the real `tickbus history resample` process and pandas on the same file, and compares
the files. Inputs tickbus cannot give back as pandas would are refused with `file:line`.
"""
import random
import subprocess
from decimal import Decimal

import pandas as pd
import pytest

LABELS = ["1s", "15s", "1min", "1h", "1d"]
RULES = {"1s": "1s", "15s": "15s", "1min": "1min", "1h": "1h", "1d": "1D"}
HEADER = "ts_event,open,high,low,close,volume\n"
JAN = 1704067200  # 2024-01-01 00:00:00 UTC


def stamp(second):
    return pd.Timestamp(second, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S+00:00")


def seconds(rng, days=(2, 3), dense=False, minutes=90):
    """Bar starts in January 2024: from 14:30 UTC on each day, every second or about 60%."""
    out = []
    for day in days:
        first = JAN + (day - 1) * 86400 + 14 * 3600 + 1800
        out += [s for s in range(first, first + minutes * 60) if dense or rng.random() < 0.6]
    return out


def cents(rng, n, start=47500):
    """n random-walk OHLC quadruples in cents."""
    rows, c = [], start
    for _ in range(n):
        o = c
        c = max(100, c + rng.randint(-10, 10))
        rows.append((o, max(o, c) + rng.randint(0, 3), min(o, c) - rng.randint(0, 3), c))
    return rows


def dollars(c):
    return repr(c / 100)


def write_month(directory, symbol, rows, month=1):
    path = directory / symbol / f"{symbol}_2024_{month:02d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{stamp(t)},{o},{h},{l},{c},{v}\n" for t, o, h, l, c, v in rows))
    return path


def shape_rows(shape, rng):
    """The rows of one shape: (start second, open, high, low, close, volume) as text."""
    if shape == "stock":
        ts = seconds(rng)
        return [(t, *map(dollars, q), str(rng.randint(1, 5000))) for t, q in zip(ts, cents(rng, len(ts)))]
    if shape == "one_fractional_volume":
        rows = shape_rows("stock", rng)
        rows[len(rows) // 2] = rows[len(rows) // 2][:5] + ("0.5",)
        return rows
    if shape == "json_float_volumes":
        return [r[:5] + (f"{int(r[5])}.0",) for r in shape_rows("stock", rng)]
    if shape == "exponent_volumes":
        return [r[:5] + (f"{int(r[5]):.2e}" if i % 3 == 0 else r[5],) for i, r in enumerate(shape_rows("stock", rng))]
    if shape in ("whole_prices_dense", "whole_prices_sparse"):
        ts = seconds(rng, days=(2,), dense=shape.endswith("dense"), minutes=10)
        return [(t, *(str(p * 1000) for p in q), str(rng.randint(1, 500))) for t, q in zip(ts, cents(rng, len(ts), 612))]
    if shape == "mixed_price_forms":
        rows = shape_rows("whole_prices_dense", rng)
        return [r if i % 7 else (r[0], r[1] + ".5", r[2] + ".50", r[3], r[4] + ".0", r[5]) for i, r in enumerate(rows)]
    if shape == "tiny_prices":
        ts = seconds(rng)
        out = []
        for t, q in zip(ts, cents(rng, len(ts), 2344)):
            text = [str(Decimal(p) / Decimal(10**8)) for p in q]
            if t % 2:
                text = [f"{float(x):.3e}" if len(x.replace("0", "").replace(".", "")) <= 4 else x for x in text]
            out.append((t, *text, f"{rng.randint(1, 10**6) / 1000}"))
        return out
    if shape == "fractional_sums":
        ts = seconds(rng, dense=True, minutes=180)
        return [(t, *map(dollars, q), str(round(rng.random() * rng.choice([1, 10, 1000]), rng.randint(0, 8))))
                for t, q in zip(ts, cents(rng, len(ts)))]
    if shape == "huge_volumes":
        ts = seconds(rng, dense=True, minutes=120)
        return [(t, *map(dollars, q), str(rng.randint(10**14, 9 * 10**14))) for t, q in zip(ts, cents(rng, len(ts)))]
    if shape == "long_prices":  # 16 significant digits, 9 decimals: more than a double holds exactly
        ts = seconds(rng)
        out = []
        for t, q in zip(ts, cents(rng, len(ts))):
            fraction = rng.randint(0, 10**9 - 1)
            out.append((t, *(f"{1234567 + p}.{fraction:09d}" for p in q), str(rng.randint(1, 50))))
        return out
    raise ValueError(shape)


def pandas_resample(source, out_dir, symbol, labels):
    """The old pipeline, as the issue states it."""
    df = pd.read_csv(source, index_col="ts_event", parse_dates=True)
    for label in labels:
        bars = df.resample(RULES[label], label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna(subset=["open"])
        (out_dir / label).mkdir(parents=True, exist_ok=True)
        bars.to_csv(out_dir / label / f"{symbol}_2024_01_{label}.csv")


def tickbus_run(tickbus, *args):
    return subprocess.run([tickbus, "history", *args], capture_output=True, text=True, timeout=600)


SHAPES = ["stock", "one_fractional_volume", "json_float_volumes", "exponent_volumes", "whole_prices_dense",
          "whole_prices_sparse", "mixed_price_forms", "tiny_prices", "fractional_sums", "huge_volumes", "long_prices"]


@pytest.mark.parametrize("shape", SHAPES)
def test_resample_is_pandas_byte_for_byte(tmp_path, tickbus, shape):
    rng = random.Random(shape)
    raw, ours, theirs = tmp_path / "raw", tmp_path / "ours", tmp_path / "pandas"
    source = write_month(raw, "SYM", shape_rows(shape, rng))
    done = tickbus_run(tickbus, "resample", "--symbol", "SYM", "--timeframes", ",".join(LABELS),
                       "--input-dir", str(raw), "--output-dir", str(ours))
    assert done.returncode == 0, done.stderr
    pandas_resample(source, theirs, "SYM", LABELS)
    for label in LABELS:
        name = f"{label}/SYM_2024_01_{label}.csv"
        mine, reference = (ours / name).read_text(), (theirs / name).read_text()
        assert reference.count("\n") > 1
        if mine != reference:  # (pytest's own diff of two large files takes minutes)
            line = next(i for i, (a, b) in enumerate(zip(mine.splitlines() + [""], reference.splitlines() + [""])) if a != b)
            pytest.fail(f"{shape} {name} line {line + 1}: tickbus {mine.splitlines()[line:line + 1]}, "
                        f"pandas {reference.splitlines()[line:line + 1]}")
        # validate re-aggregates the raw month the same way and finds each row.
        check = tickbus_run(tickbus, "validate", "--input-dir", str(ours / label), "--timeframe", label,
                            "--raw-data-dir", str(raw))
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_shapes_differ_from_the_naive_rules(tmp_path):
    """Each shape exercises a rule: pandas' output is not what per-value formatting gives."""
    rng = random.Random("fractional_sums")
    source = write_month(tmp_path, "SYM", shape_rows("fractional_sums", rng))
    df = pd.read_csv(source, index_col="ts_event", parse_dates=True)
    sums = df["volume"].resample("1h").sum()
    naive = df["volume"].resample("1h").apply(lambda s: sum(s.tolist()))
    assert (sums != naive).any(), "no bucket where numpy's pairwise sum differs from a running sum"
    rng = random.Random("whole_prices_dense")
    df = pd.read_csv(write_month(tmp_path, "W", shape_rows("whole_prices_dense", rng)), index_col="ts_event", parse_dates=True)
    assert str(df["open"].dtype) == "int64"


def test_pandas_round_trip_of_the_raw_file_passes_validate(tmp_path, tickbus):
    """What pandas writes back (`read_csv` then `to_csv`) is a file validate finds in pandas' own format."""
    for shape in SHAPES:
        raw = tmp_path / shape
        source = write_month(raw, "SYM", shape_rows(shape, random.Random(shape)))
        pd.read_csv(source, index_col="ts_event", parse_dates=True).to_csv(source)
        check = tickbus_run(tickbus, "validate", "--input-dir", str(raw), "--timeframe", "1s")
        assert check.returncode == 0, shape + ": " + check.stdout + check.stderr


def refused(tmp_path, tickbus, rows_by_month, timeframes="1min"):
    raw, ours = tmp_path / "raw", tmp_path / "ours"
    for month, text in rows_by_month.items():
        path = raw / "SYM" / f"SYM_2024_{month:02d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
    done = tickbus_run(tickbus, "resample", "--symbol", "SYM", "--timeframes", timeframes,
                       "--input-dir", str(raw), "--output-dir", str(ours))
    return done, raw, ours


def good_month(month):
    return (HEADER + f"2024-{month:02d}-02 14:30:00+00:00,1.5,2.5,1.0,2.0,10\n").encode()


@pytest.mark.parametrize("text, line, reason, pandas_reads, file_fails_validate", [
    (HEADER + "2024-01-02 14:30:00+00:00,1.5,2.5,1.0,2.0,10\n2024-01-02 14:30:01+00:00,1.00000000001,2.5,1.0,2.0,10\n",
     3, "open \"1.00000000001\" has more than 9 decimals", True, True),
    (HEADER + "2024-01-02 14:30:00+00:00,-0.0,2.5,-1.0,2.0,10\n", 2, "open \"-0.0\" is a negative zero", True, True),
    # Each value is fine; only their sum passes int64, which pandas wraps around.
    (HEADER + "2024-01-02 14:30:00+00:00,1.5,2.5,1.0,2.0,9223372036854775807\n"
     "2024-01-02 14:30:01+00:00,1.5,2.5,1.0,2.0,9\n", 3, "passes int64", True, False),
    ("", 1, "the file is empty", False, True),
    ("\ufeff" + HEADER + "2024-01-02 14:30:00+00:00,1.5,2.5,1.0,2.0,10\n", 1, "byte order mark", True, True),
], ids=["ten_decimals", "negative_zero", "int64_sum", "empty_file", "byte_order_mark"])
def test_what_tickbus_cannot_match_is_refused_with_file_and_line(
        tmp_path, tickbus, text, line, reason, pandas_reads, file_fails_validate):
    done, raw, ours = refused(tmp_path, tickbus, {1: text.encode(), 2: good_month(2)})
    assert done.returncode == 1
    assert f"SYM_2024_01.csv:{line}: " in done.stderr and reason in done.stderr, done.stderr
    assert (ours / "1min" / "SYM_2024_02_1min.csv").exists(), "the other month is written"
    assert not (ours / "1min" / "SYM_2024_01_1min.csv").exists()
    assert not [p for p in (ours / "1min").iterdir() if p.name.startswith(".")], "no temporary file left"
    check = tickbus_run(tickbus, "validate", "--input-dir", str(raw), "--timeframe", "1s")
    if file_fails_validate:
        assert check.returncode == 1 and f"SYM_2024_01.csv:{line}: " in check.stdout and reason in check.stdout, check.stdout
    else:
        assert check.returncode == 0, check.stdout
    if pandas_reads:
        pd.read_csv(raw / "SYM" / "SYM_2024_01.csv", index_col="ts_event", parse_dates=True)
    else:
        with pytest.raises(pd.errors.EmptyDataError):
            pd.read_csv(raw / "SYM" / "SYM_2024_01.csv", index_col="ts_event", parse_dates=True)


@pytest.mark.parametrize("timeframes, reason", [
    ("7s", "7s does not divide a day"),
    ("1min,7min", "7min does not divide a day"),
    ("1m,1min", "given twice"),
    ("60s,1min", "given twice"),
])
def test_lengths_pandas_would_split_differently_are_refused(tmp_path, tickbus, timeframes, reason):
    done, _, ours = refused(tmp_path, tickbus, {1: good_month(1)}, timeframes)
    assert done.returncode != 0 and reason in done.stderr, done.stderr
    assert not ours.exists()


def test_validate_without_files_says_so(tmp_path, tickbus):
    done = tickbus_run(tickbus, "validate", "--input-dir", str(tmp_path), "--timeframe", "1min")
    assert done.returncode == 1
    assert "all checks passed" not in done.stdout and "no 1min files" in done.stderr, done.stdout + done.stderr
