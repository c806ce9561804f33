"""Benchmark textbatch configurations against the scikit-learn peer (TF-IDF word 1-2 grams +
logistic regression) on the same train/test CSVs, in one run: accuracy, macro-F1, training
time, whole-job predict rows/s (process start, CSV in, CSV out), forward-only rows/s and peak
RSS. Prints a table and writes bench.json in --workdir. Needs the `bench` extra (scikit-learn)."""

from __future__ import annotations

import argparse
from pathlib import Path

from textbatch.errors import TextbatchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="benchmark against the scikit-learn peer", description=__doc__
    )
    parser.add_argument("--train", type=Path, help="labelled training CSV")
    parser.add_argument("--test", type=Path, help="labelled test CSV")
    parser.add_argument(
        "--data",
        type=Path,
        help="instead of --train/--test: one labelled CSV (or .csv.gz), split 80/20",
    )
    parser.add_argument("--config", type=Path, action="append", required=True, help="repeatable")
    parser.add_argument("--workdir", type=Path, default=Path("bench-output"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise TextbatchError(
            "the benchmark needs scikit-learn", hint="pip install -e '.[bench]' (or make bench)"
        ) from exc
    from textbatch.bench.run import run_bench, split_data, table

    if args.data:
        train, test = split_data(args.data, args.workdir / "data", test_fraction=0.2, seed=0)
    elif args.train and args.test:
        train, test = args.train, args.test
    else:
        raise TextbatchError(
            "give --train and --test, or --data", hint="see textbatch bench --help"
        )
    rows = run_bench(train, test, args.config, args.workdir)
    print(table(rows))
    print(f"written: {args.workdir / 'bench.json'}")
    return 0
