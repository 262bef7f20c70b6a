"""Cold vs warm IMDB load: the first load parses 100,000 files from the archive,
the second reads the parsed JSON cache. Run: `make bench` or
`python benchmarks/bench_imdb_load.py` (uses BIGTEXT_DATA; a fresh temporary cache)."""

from __future__ import annotations

import os
import tempfile
import time

from bigtext_lite import config
from bigtext_lite.data.imdb import load_imdb, locate_imdb


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BIGTEXT_CACHE"] = cache
        print(f"data: {locate_imdb(download_ok=False)}")
        rows = []
        for attempt in ("cold", "warm"):
            start = time.perf_counter()
            train = load_imdb("train")
            rows.append((attempt, time.perf_counter() - start, len(train)))
        size = sum(f.stat().st_size for f in (config.cache_dir() / "imdb").glob("*.json"))
    for attempt, seconds, n in rows:
        print(f"{attempt:>5} load of 'train' ({n:,} reviews): {seconds:6.2f} s")
    print(f"warm/cold ratio: {rows[1][1] / rows[0][1]:.3f}  (cache on disk: {size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
