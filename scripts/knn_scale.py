"""The knn search against a large index: queries/s, the index's size and the build's peak memory.

  python scripts/knn_scale.py IMDB.csv.gz:movie --copies 50 [--features 256] [--queries 200]
                              [--postings 0.01 0.02 0.05]

The set is split as `textbatch bench` splits it (20% of the groups held out, seed 0). The index
is the training rows' vectors (config/knn.json's features) repeated `--copies` times, each copy
but the first with a tenth of its features dropped at random (seeded) and re-normalised, so that
no two rows are the same; each row keeps its `--features` strongest. The queries are the first
`--queries` held-out rows, searched exactly (textbatch.model.knn.nearest, one process), then
with each feature's postings capped at each `--postings` share of the rows (what
`knn_max_postings_share` does), with the recall of the exact neighbours. The answer is a rate,
not an accuracy: the copies' labels repeat, and the copies of one review are near-equals, which
lowers recall without changing a label (docs/benchmarks.md measures accuracy on real rows).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from textbatch.bench.run import make_splits, read_labelled_csv
from textbatch.families import parse_config
from textbatch.model import knn
from textbatch.model.hashing import HashingFeaturizer

CONFIG = Path(__file__).resolve().parent.parent / "config" / "knn.json"


def texts(path: Path) -> list[str]:
    header, records = read_labelled_csv(path)
    return [r[header.index("text")] for r in records]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="a labelled CSV (.csv.gz) and its group column: PATH:COLUMN")
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--features", type=int, default=None, help="default: knn.json's")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--postings",
        type=float,
        nargs="*",
        default=[],
        help="also search with each feature's postings capped at these shares of the rows "
        "(knn.cap_postings), against the exact answer",
    )
    args = parser.parse_args(argv)
    path, _, column = args.data.rpartition(":")
    config = parse_config(CONFIG.read_text(), source=str(CONFIG))
    keep = args.features or config.knn_max_features
    with tempfile.TemporaryDirectory() as work:
        fold = make_splits(Path(path), Path(work), group_column=column).folds[0]
        train, queries = texts(fold.train), texts(fold.test)[: args.queries]
    featurizer = HashingFeaturizer(config.ngrams, config.ngram_buckets, config.hashed_tokens)
    counts = featurizer.counts(train)
    columns, idf = knn.fit_features(counts)
    full = knn.vectors(counts, columns, idf)
    rng = np.random.default_rng(0)
    labels, rows = np.zeros(full.n_rows), np.arange(full.n_rows)
    parts, started = [], time.perf_counter()
    for copy in range(args.copies):
        kept = rng.random(len(full.value)) > 0.1 if copy else np.ones(len(full.value), bool)
        v = knn.strongest(knn.Vectors(full.n_rows, full.row[kept], full.feature[kept],
                                      full.value[kept]), keep)  # fmt: skip
        v = knn.Vectors(v.n_rows, v.row.astype(np.int32), v.feature.astype(np.int32), v.value)
        parts.append((v, labels, rows, np.zeros(full.n_rows, np.int8)))
    index = knn.build_index(parts, columns, idf, (path,))
    del parts
    built = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    q = knn.vectors(featurizer.counts(queries), columns, idf)
    _ = index.postings  # made once per loaded index (the scorer makes it), not timed
    started = time.perf_counter()
    exact = knn.nearest(index, q, config.n_neighbors)
    took = time.perf_counter() - started
    print(
        f"{index.n_rows:,} rows, {keep} features a row: {len(index.values):,} postings, "
        f"{index.nbytes() / 2**20:,.0f} MiB of index, built in {built:.0f} s (peak RSS "
        f"{peak:.1f} GiB); {q.n_rows} queries in {took:.1f} s: {q.n_rows / took:,.1f} queries/s",
        flush=True,
    )
    for share in args.postings:
        started = time.perf_counter()
        capped = knn.cap_postings(index, max(1, int(share * index.n_rows)))
        cut = time.perf_counter() - started
        started = time.perf_counter()
        found = knn.nearest(capped, q, config.n_neighbors)
        took_capped = time.perf_counter() - started
        recall = np.mean(
            [len(set(a) & set(b)) / len(a) for a, b in zip(found.index, exact.index, strict=True)]
        )
        print(
            f"  postings capped at {share:.1%} of the rows: {len(capped.values):,} postings "
            f"(cut in {cut:.0f} s), {q.n_rows / took_capped:,.1f} queries/s "
            f"({took / took_capped:.1f}x), recall@{config.n_neighbors} {recall:.3f}",
            flush=True,
        )
        del capped


if __name__ == "__main__":
    main(sys.argv[1:])
