"""Write synthetic warranty claims (deterministic for a seed): test and benchmark inputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textbatch.cli.options import examples
from textbatch.sample_data import generate, with_submitted, write_bundled, write_csv


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sample-data",
        help="write sample CSVs",
        description=__doc__,
        epilog=examples(
            "textbatch sample-data --rows 3000 -o claims.csv",
            "textbatch sample-data --rows 500 --seed 1 --unlabelled --submitted 0.05 -o new.csv",
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    output = target.add_argument(
        "--output", "-o", "--out", dest="output", type=Path, help="CSV file to write"
    )
    output.hidden = ("--out",)
    target.add_argument(
        "--bundled", action="store_true", help="rewrite the package's bundled sample files"
    )
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unlabelled", action="store_true", help="leave out the category column")
    parser.add_argument(
        "--submitted",
        type=float,
        metavar="SLIPS",
        help="add a `submitted` column, the category a submitter chose, wrong in this share of "
        "the rows (e.g. 0.05): a file to try review routing on (--compare-column submitted)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.bundled:
        for path in write_bundled():
            print(path)
        return 0
    rows = generate(args.rows, seed=args.seed)
    if args.submitted is not None:
        if not 0 <= args.submitted <= 1:
            raise SystemExit("--submitted takes a share from 0 to 1")
        rows = with_submitted(rows, args.submitted, seed=args.seed)
    write_csv(
        args.output,
        rows,
        labelled=not args.unlabelled,
        submitted=args.submitted is not None,
    )
    print(f"wrote {args.rows} rows to {args.output}", file=sys.stderr)
    return 0
