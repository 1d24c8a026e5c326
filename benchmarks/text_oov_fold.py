"""Benchmark: the write-time profile fold of a text model's rows with the vocabulary (``review.oov``) vs without.

    .venv/bin/python benchmarks/text_oov_fold.py [--rows 1000] [--repeats 20]

The same batch of request rows (a text column of 5–20 words from a 20,000-word Zipf vocabulary, a
number and a category) is folded into a fresh per-minute :class:`Profile` with and without the
training vocabulary of its text column (2,000 words, as a deployment keeps). Baseline: the fold
without a vocabulary (lengths only), measured in the same run; the median of ``--repeats`` folds
each, alternating. Also: one read of a version record through ``ProfileStore`` on SQLite, which the
store caches per version (so a writer pays it once per version, not per batch).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 20_001)
    ids = rng.choice(20_000, size=n * 20, p=weights / weights.sum())
    lengths = rng.integers(5, 21, size=n)
    return [" ".join(f"w{i}" for i in ids[k * 20:k * 20 + length]) for k, length in enumerate(lengths)]


def main() -> None:
    from nb2prod.monitor.derived import vocabulary_of
    from nb2prod.monitor.profile import Profile

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    vocabulary = frozenset(vocabulary_of(_texts(5000, 0)))
    texts = _texts(args.rows, 1)
    rows = [{"ts": 1_700_000_000.0 + i * 0.01, "inputs": {"review": t, "basket": float(i % 97), "store": ("a", "b", "c")[i % 3]},
             "output": i % 2} for i, t in enumerate(texts)]
    without, with_oov = [], []
    for _ in range(args.repeats):
        for vocabularies, into in ((None, without), ({"review": vocabulary}, with_oov)):
            profile = Profile()
            start = time.perf_counter()
            profile.fold(rows, vocabularies)
            into.append(time.perf_counter() - start)
    base, oov = statistics.median(without), statistics.median(with_oov)
    print(f"rows per batch {args.rows}, vocabulary {len(vocabulary)} words, median of {args.repeats}")
    print(f"fold without vocabulary (baseline): {base * 1000:.2f} ms  ({args.rows / base:,.0f} rows/s)")
    print(f"fold with review.oov:               {oov * 1000:.2f} ms  ({args.rows / oov:,.0f} rows/s)")
    print(f"ratio with/without: {oov / base:.2f}x")


if __name__ == "__main__":
    main()
