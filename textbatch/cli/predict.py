"""Classify every row of a CSV with a trained model.

The output keeps every input row and column, in order, and adds prediction, confidence and
one prob_<label> column per class. A directory or prefix as --output receives
<input stem>_output.csv and <input stem>_output.json (the summary); a failure leaves
<input stem>_error.json there instead.
"""

from __future__ import annotations

import argparse

from textbatch_contract.commands import input_version as requested_version


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("predict", help="classify a CSV", description=__doc__)
    parser.add_argument(
        "--model", required=True, help="a model version, or a location holding models/latest.json"
    )
    add_file_options(parser, verb="classify")
    parser.add_argument(
        "--neutralise-formulas",
        action="store_true",
        default=None,
        help="write cells that start with = + - @ as text (a leading '), for spreadsheets",
    )
    parser.set_defaults(run=run)


def add_file_options(parser: argparse.ArgumentParser, *, verb: str) -> None:
    """--input, --output, --text-column and --input-version: a job that reads one CSV."""
    parser.add_argument("--input", required=True, help=f"CSV to {verb}: a path or s3:// URI")
    parser.add_argument(
        "--output", required=True, help="a .csv path/key, or a directory or s3:// prefix"
    )
    parser.add_argument("--text-column", help="default: text or review, else the only column")
    parser.add_argument(
        "--input-version",
        help="the S3 version id of the input to read (default or 'latest': the latest)",
    )


def run(args: argparse.Namespace) -> int:
    from textbatch.jobs.predict import PredictRequest, run_predict  # torch: only when needed

    run_predict(
        PredictRequest(
            model=args.model,
            input=args.input,
            output=args.output,
            text_column=args.text_column,
            input_version=requested_version(args.input_version),
            neutralise_formulas=args.neutralise_formulas,
        )
    )
    return 0
