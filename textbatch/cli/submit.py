"""Submit the predict job for an object in the predict bucket, as the upload trigger would.

Takes the trigger's own path (idempotency included): an object revision that already has a job
is reported, not submitted again, unless --force is given.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from textbatch.cli._cloud import connect
from textbatch.cli.options import add_cloud_options, examples
from textbatch.cloud.deployment import DeploymentError
from textbatch.errors import TextbatchError
from textbatch.io.storage import S3Uri


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "submit",
        help="(re)run the predict job for a file",
        description=__doc__,
        epilog=examples(
            "textbatch submit s3://BUCKET/in/claims.csv",
            "textbatch submit s3://BUCKET/in/claims.csv --force   (a job exists: run it again)",
        ),
    )
    parser.add_argument("uri", help="s3://bucket/key of an uploaded CSV")
    add_cloud_options(parser)
    parser.add_argument("--force", action="store_true", help="submit even if a job exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from textbatch_trigger import TriggerSettings, UploadedObject, submit_object

    connection = connect(args)
    deployment = connection.deployment
    try:
        settings = TriggerSettings.from_outputs(deployment.outputs)
    except KeyError as exc:
        raise DeploymentError(
            f"stack {deployment.stack} lacks output(s) {exc.args[0]}",
            hint="redeploy it with this version of textbatch",
        ) from exc
    location = S3Uri.parse(args.uri)
    head = connection.storage.head(args.uri)
    obj = UploadedObject(
        bucket=location.bucket,
        key=location.key,
        size=head["ContentLength"],
        version_id=head.get("VersionId"),
        etag=head.get("ETag", "").strip('"') or None,
    )
    with contextlib.redirect_stdout(sys.stderr):  # the trigger's JSON decision line
        outcome = submit_object(
            obj,
            settings,
            batch=connection.batch,
            dynamodb=connection.dynamodb,
            s3=connection.storage.s3,
            force=args.force,
        )
    if outcome.decision == "ignored":
        raise TextbatchError(f"{args.uri} is not submitted: {outcome.reason}")
    print(
        f"{outcome.decision}: {args.uri} -> job {outcome.job_id or '?'}"
        + (f" on the {outcome.queue.upper()} queue" if outcome.queue else "")
        + (f" ({outcome.reason})" if outcome.reason else "")
    )
    return 0
