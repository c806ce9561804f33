"""Benchmark textbatch configurations against the scikit-learn peer (TF-IDF word 1-2 grams +
logistic regression) on the same splits, in one run: accuracy (and its difference to the
peer's, in points), macro-F1, training time, whole-job predict rows/s (process start, CSV in,
CSV out, on a file of at least 25,000 rows) and its ratio to the peer's, and peak RSS. Prints
a table and writes bench.json in --workdir. Needs the `bench` extra (scikit-learn).

Measure the way a model will be used: with --group-column the test rows are whole groups
(movies, threads, customers) that training never saw, and textbatch's train job validates by
the same column. A split by row shares groups between its sides and overstates accuracy.

With --cluster: `textbatch cluster` against scikit-learn's MiniBatchKMeans on TF-IDF, on the
held-out rows, as many clusters as they have labels: normalised mutual information with the
labels (which neither sees), whole-job rows/s and peak RSS (cluster-bench.json)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textbatch.cli.options import examples
from textbatch.errors import TextbatchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="benchmark against the scikit-learn peer",
        description=__doc__,
        epilog=examples(
            "make bench   (the shared sets beside the clone, else synthetic claims)",
            "textbatch bench --input reviews.csv.gz --group-column movie --config config/fast.json",
            "textbatch bench --input claims.csv --group-column customer --config config/fast.json "
            "--review",
            "textbatch bench --input reviews.csv.gz --group-column movie --config config/fast.json "
            "--train-rows 500,2000,5000,all",
        ),
    )
    parser.add_argument("--train", type=Path, help="labelled training CSV")
    parser.add_argument("--test", type=Path, help="labelled test CSV")
    data = parser.add_argument(
        "--input",
        "--data",
        dest="data",
        type=Path,
        help="instead of --train/--test: one labelled CSV (or .csv.gz), split here",
    )
    data.hidden = ("--data",)
    parser.add_argument(
        "--group-column",
        help="with --input: hold out whole groups of this column (and validate by it in training)",
    )
    parser.add_argument(
        "--folds", type=int, default=1, help="with --input: k folds instead of one held-out share"
    )
    parser.add_argument(
        "--test-fraction", type=float, default=0.2, help="with --input and one fold (default 0.2)"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the split (default 0)")
    parser.add_argument("--config", type=Path, action="append", help="repeatable")
    parser.add_argument(
        "--cluster", action="store_true", help="compare the clustering instead (no --config)"
    )
    parser.add_argument(
        "--review",
        action="store_true",
        help="measure review routing instead, with the first --config: a `submitted` column "
        "wrong in --slips of the held-out rows, the review file's share and catch, the "
        "auto-accepted rows' accuracy, the shift level and the why column's price",
    )
    parser.add_argument(
        "--slips", type=float, default=0.1, help="with --review: the share of slipped rows (0.1)"
    )
    parser.add_argument(
        "--shift-against",
        type=Path,
        metavar="FILE",
        help="with --review: another data set (CSV or .csv.gz) whose texts should read as shifted",
    )
    parser.add_argument(
        "--train-rows",
        metavar="SIZES",
        help="a learning curve instead: each --config and the peer trained on this many of the "
        "training rows (a seeded sample, stratified by label, each inside the next), e.g. "
        "500,2000,5000,all, scored on the same held-out rows (learning-curve.json)",
    )
    parser.add_argument(
        "--test-rows",
        type=int,
        metavar="N",
        help="with --train-rows: score on a seeded sample of N of the held-out rows (the "
        "encoder family on a CPU predicts some 25 rows/s)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("bench-output"))
    parser.add_argument(
        "--peer",
        choices=("lr", "knn", "knn-tfidf"),
        default="lr",
        help="lr: scikit-learn TF-IDF + logistic regression (default); knn: scikit-learn's "
        "KNeighborsClassifier on the knn config's own features; knn-tfidf: the same on "
        "scikit-learn's TF-IDF (word 1-2 grams, min_df 2, sublinear tf), the knn config's k",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise TextbatchError(
            "the benchmark needs scikit-learn", hint="pip install -e '.[bench]' (or make bench)"
        ) from exc
    from textbatch.bench.run import (
        Fold,
        Splits,
        cluster_table,
        make_splits,
        run_bench,
        run_cluster_bench,
        table,
    )

    if not args.cluster and not args.config:
        raise TextbatchError("give one or more --config (or --cluster)")

    sizes = None
    if args.train_rows:  # a wrong list fails now, not after the split
        from textbatch.bench.curve import parse_sizes

        sizes = parse_sizes(args.train_rows)
    if args.test_rows is not None and (not sizes or args.test_rows < 1):
        raise TextbatchError("--test-rows takes a count >= 1, with --train-rows")
    if args.folds < 1 or not 0 < args.test_fraction < 1:
        raise TextbatchError("--folds must be >= 1 and --test-fraction between 0 and 1")
    if args.data:
        splits = make_splits(
            args.data,
            args.workdir / "data",
            group_column=args.group_column,
            folds=args.folds,
            test_fraction=args.test_fraction,
            seed=args.seed,
        )
        title = f"{args.data.name}: {splits.description}"
    elif args.train and args.test:
        splits = Splits([Fold(args.train, args.test)], "given train and test files")
        title = f"train {args.train.name}, test {args.test.name}"
    else:
        raise TextbatchError(
            "give --train and --test, or --input", hint="see textbatch bench --help"
        )
    if args.cluster:
        print(cluster_table(run_cluster_bench(splits, args.workdir), title=title))
        return 0
    if sizes:
        from textbatch.bench.curve import curve_table, run_curve

        points = run_curve(
            splits,
            args.config,
            args.workdir,
            sizes,
            group_column=args.group_column,
            seed=args.seed,
            test_rows=args.test_rows,
        )
        print(curve_table(points, title=f"{title}; accuracy by training rows"))
        print(f"written: {args.workdir / 'learning-curve.json'}", file=sys.stderr)
        return 0
    if args.review:
        from textbatch.bench.review import review_table, run_review_bench

        found = run_review_bench(
            splits,
            args.config[0],
            args.workdir,
            group_column=args.group_column,
            slips=args.slips,
            seed=args.seed,
            shift_against=args.shift_against,
        )
        print(review_table(found, title=title))
        print(f"written: {args.workdir / 'review.json'}", file=sys.stderr)
        return 0
    rows = run_bench(
        splits, args.config, args.workdir, group_column=args.group_column, peer=args.peer
    )
    print(table(rows, title=title))
    print(f"written: {args.workdir / 'bench.json'}", file=sys.stderr)
    return 0
