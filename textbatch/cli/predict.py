"""Classify every row of a CSV with a trained model.

The output keeps every input row and column, in order, and adds prediction, confidence and
one prob_<label> column per class, then review (yes/no), review_reason (low_confidence,
disagrees or empty) and, for the linear families, why. A directory or prefix as --output
receives <input stem>_output.csv, <input stem>_review.csv (only the rows for a person,
disagreements first) and <input stem>_output.json (the summary); a failure leaves
<input stem>_error.json there instead.

On a terminal it shows a progress bar (rows, rows/s, ETA) and the summary's lines; elsewhere,
or with --log-format json, the job's JSON lines (as CloudWatch Logs holds them on Batch).
"""

from __future__ import annotations

import argparse

from textbatch_contract.jobs import PREDICT
from textbatch_contract.jobs import input_version as requested_version

from textbatch.cli.options import add_log_format, add_text_column, examples


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        PREDICT.name,
        help="classify a CSV",
        description=__doc__,
        epilog=examples(
            "textbatch predict --model model-store --input new.csv -o results/",
            "textbatch predict --model model-store/models/VERSION --input new.csv -o out.csv",
            "textbatch predict --model s3://MODELS/ --input s3://BUCKET/new.csv -o s3://OUT/ "
            "--compare-column submitted",
        ),
    )
    PREDICT.add_options(parser, input="CSV to classify: a path or s3:// URI")
    add_text_column(parser)
    parser.add_argument(
        "--neutralise-formulas",
        action="store_true",
        default=None,
        help="write cells that start with = + - @ as text (a leading '), for spreadsheets",
    )
    parser.add_argument(
        "--compare-column",
        metavar="NAME",
        help="the column with the submitter's category: rows where it differs from a confident "
        "prediction go to review as `disagrees` (default: the upload's metadata "
        "compare-column, else the stage setting compare_column)",
    )
    parser.add_argument(
        "--no-why",
        dest="why",
        action="store_false",
        default=None,
        help="leave out the `why` column (the linear families' strongest n-grams per row)",
    )
    add_log_format(parser)
    parser.set_defaults(run=run)


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
            compare_column=args.compare_column,
            why=args.why,
        )
    )
    return 0
