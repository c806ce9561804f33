"""Write synthetic warranty claims (deterministic for a seed): test and benchmark inputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from textbatch.sample_data import generate, write_bundled, write_csv


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample-data", help="write sample CSVs", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="CSV file to write")
    target.add_argument(
        "--bundled", action="store_true", help="rewrite the package's bundled sample files"
    )
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unlabelled", action="store_true", help="leave out the category column")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.bundled:
        for path in write_bundled():
            print(path)
        return 0
    write_csv(args.out, generate(args.rows, seed=args.seed), labelled=not args.unlabelled)
    print(f"wrote {args.rows} rows to {args.out}")
    return 0
