"""The reference for `tickbus history resample`: what the old pipeline does with pandas.

usage: pandas_resample.py INPUT.csv OUTPUT_DIR SYMBOL YEAR MONTH LABEL...
Writes OUTPUT_DIR/<label>/SYMBOL_YYYY_MM_<label>.csv for each label (15s, 1min, 1h, ...).
"""
import os
import sys

import pandas as pd

RULES = {"s": "s", "min": "min", "h": "h", "d": "D"}


def rule(label):
    digits = "".join(c for c in label if c.isdigit())
    return digits + RULES[label[len(digits):]]


def main():
    source, out, symbol, year, month, *labels = sys.argv[1:]
    df = pd.read_csv(source, parse_dates=["ts_event"]).set_index("ts_event")
    for label in labels:
        bars = df.resample(rule(label), label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        ).dropna(subset=["open"])
        os.makedirs(os.path.join(out, label), exist_ok=True)
        bars.to_csv(os.path.join(out, label, f"{symbol}_{int(year):04d}_{int(month):02d}_{label}.csv"))


if __name__ == "__main__":
    main()
