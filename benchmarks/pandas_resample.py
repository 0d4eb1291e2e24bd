"""`bench resample`'s pandas side: the old pipeline's resample of DIR/raw_1s/SYM/*.csv to
15s, 30s and 1min, with pandas used well (parse_dates + set_index). Prints seconds and peak MB."""
import glob
import os
import resource
import sys
import time

import pandas as pd


def main():
    directory, symbol = sys.argv[1:3]
    out = os.path.join(directory, "aggregated-pandas")
    started = time.perf_counter()
    for path in sorted(glob.glob(os.path.join(directory, "raw_1s", symbol, f"{symbol}_*.csv"))):
        stem = os.path.basename(path)[:-4]
        df = pd.read_csv(path, parse_dates=["ts_event"]).set_index("ts_event")
        for label, rule in (("15s", "15s"), ("30s", "30s"), ("1min", "1min")):
            bars = df.resample(rule, label="left", closed="left").agg(
                {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
            ).dropna(subset=["open"])
            os.makedirs(os.path.join(out, label), exist_ok=True)
            bars.to_csv(os.path.join(out, label, f"{stem}_{label}.csv"))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds} {peak}")


if __name__ == "__main__":
    main()
