"""Train a classifier on a labelled CSV and publish the model version.

Prints one JSON line per logged batch, per validation pass and at the end: the lines that
CloudWatch Logs holds when this runs as a Batch job.
"""

from __future__ import annotations

import argparse

from textbatch.jobs.train import TrainRequest, run_train


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="train a model", description=__doc__)
    parser.add_argument("--config", required=True, help="config JSON: a path or s3:// URI")
    parser.add_argument("--data", required=True, help="labelled CSV: a path or s3:// URI")
    parser.add_argument(
        "--out",
        help="where to publish: a directory or s3://bucket[/prefix] (default: MODELPARAMSURL)",
    )
    parser.add_argument("--text-column", help="default: text or review")
    parser.add_argument("--label-column", help="default: label, sentiment, category or class")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    run_train(
        TrainRequest(
            config=args.config,
            data=args.data,
            out=args.out,
            text_column=args.text_column,
            label_column=args.label_column,
        )
    )
    return 0
