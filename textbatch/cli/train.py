"""Train a classifier on a labelled CSV and publish the model version.

Runs here by default. On a terminal it shows readable lines (the split, each epoch's
validation score, the promotion decision, where the version went); elsewhere, or with
--log-format json, one JSON line per event: the lines CloudWatch Logs holds when this runs as
a Batch job. With --submit it runs as a Batch job on the stage's train queue instead (local
files are uploaded to the stage's config and training buckets first); --follow shows each
epoch's metrics as they arrive.

--output is a model location: each version goes to <location>/models/<version>/ and
<location>/models/latest.json names the one that serves (`textbatch models list`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from textbatch_contract.jobs import TRAIN
from textbatch_contract.models import MODELS_DIR

from textbatch.cli._cloud import connect
from textbatch.cli.options import add_cloud_options, add_follow, add_log_format, examples
from textbatch.errors import TextbatchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        TRAIN.name,
        help="train a model",
        description=__doc__,
        epilog=examples(
            "textbatch sample-data --rows 3000 -o claims.csv",
            "textbatch train --config config/fast.json --input claims.csv -o model-store",
            "textbatch train --config config/fast.json --input claims.csv -o model-store "
            "--group-column customer",
            "textbatch train --submit --follow --config config/fast.json --input claims.csv",
        ),
    )
    TRAIN.add_options(
        parser,
        required=False,
        config="config JSON: a path or s3:// URI (without --config and --input: SageMaker's "
        "training contract, /opt/ml/input/config/hyperparameters.json and the `training` channel)",
        out="where to publish: a directory or s3://bucket[/prefix] (default: MODELPARAMSURL; "
        "with --submit, the stage's models bucket)",
    )
    parser.add_argument("--text-column", help="default: text or review")
    parser.add_argument("--label-column", help="default: label, sentiment, category or class")
    parser.add_argument(
        "--group-column",
        help="hold out whole groups of this column for validation (a customer, a product, a "
        "thread); default: the config's validation_group_column, else a split by row",
    )
    parser.add_argument(
        "--base-model",
        help="knn: a published version (or a location with models/latest.json) whose index "
        "the rows of --input extend; nothing else is refitted",
    )
    parser.add_argument(
        "--eval-data",
        help="labelled CSV the promotion gate scores the new and the current version on "
        "(default: the run's validation rows)",
    )
    parser.add_argument("--submit", action="store_true", help="run as a Batch job on the stage")
    add_follow(parser, "with --submit: follow the job to its end")
    add_log_format(parser)
    add_cloud_options(parser)  # with --submit
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.config is None and args.data is None and not args.submit:
        return _sagemaker()
    if args.config is None or args.data is None:
        raise TextbatchError(
            "train needs both --config and --input",
            hint="or neither, inside a SageMaker training job (textbatch.jobs.sagemaker)",
        )
    if args.submit:
        return _submit(args)
    if args.out and args.out.rstrip("/").rsplit("/", 1)[-1] == MODELS_DIR:
        print(
            f"note: versions go to {args.out.rstrip('/')}/{MODELS_DIR}/<version>/: --output is "
            "the model location, which holds models/ and its latest.json; give the directory "
            f"above it for {args.out.rstrip('/')}/<version>/",
            file=sys.stderr,
        )
    from textbatch.jobs.train import TrainRequest, run_train  # torch: only when training here

    run_train(
        TrainRequest(
            config=args.config,
            data=args.data,
            out=args.out,
            text_column=args.text_column,
            label_column=args.label_column,
            group_column=args.group_column,
            base_model=args.base_model,
            promote=args.promote or "auto",
            eval_data=args.eval_data,
        )
    )
    return 0


def _sagemaker() -> int:
    """`train` as SageMaker starts the image: its directories in place of the options."""
    from textbatch.jobs.sagemaker import sagemaker_paths

    paths = sagemaker_paths()
    if not paths.present():
        raise TextbatchError(
            "train needs --config and --input",
            hint=f"(or SageMaker's {paths.hyperparameters}, when run as a SageMaker training job)",
        )
    from textbatch.jobs.train import TrainRequest, run_train

    try:
        with tempfile.TemporaryDirectory(prefix="textbatch-sagemaker-") as tmp:
            run_train(
                TrainRequest(
                    config=str(paths.write_config(Path(tmp))),
                    data=str(paths.data()),
                    out=str(paths.model),
                )
            )
    except TextbatchError as exc:
        paths.fail(exc)  # SageMaker's FailureReason
        raise
    return 0


def _submit(args: argparse.Namespace) -> int:
    from textbatch.cloud.training import follow_training, submit_training

    if (
        args.text_column
        or args.label_column
        or args.group_column
        or args.base_model
        or args.eval_data
    ):
        raise TextbatchError(
            "--text-column, --label-column, --group-column, --base-model and --eval-data do "
            "not apply to a submitted job",
            hint="set text_column / label_column / validation_group_column in the config file",
        )
    connection = connect(args)
    deployment, batch = connection.deployment, connection.batch
    job = submit_training(
        deployment,
        config=args.config,
        data=args.data,
        out=args.out,
        promote=args.promote,
        batch=batch,
        storage=connection.storage,
    )
    print(f"submitted train job {job['jobId']} to {job['queue']}", flush=True)
    if not args.follow:
        return 0
    final = follow_training(
        deployment,
        job["jobId"],
        batch=batch,
        logs=connection.logs,
        show=lambda s: print(s, flush=True),
    )
    return 0 if final["status"] == "SUCCEEDED" else 1
