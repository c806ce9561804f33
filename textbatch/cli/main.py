"""`textbatch`: one sub-command per module; each parses its arguments and calls a plain function.

A user's mistake (a TextbatchError) prints one short message and exits 1, without a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from textbatch_contract import calls
from textbatch_contract.jobs import JOBS

from textbatch import __version__
from textbatch.cli import (
    bench,
    cluster,
    demo,
    jobs,
    large_files,
    local,
    logs,
    models,
    predict,
    results,
    sample_data,
    status,
    submit,
    train,
)
from textbatch.cli.options import Parser, examples
from textbatch.errors import Stopped, TextbatchError

COMMANDS = (
    train,
    predict,
    cluster,
    large_files,
    submit,
    jobs,
    status,
    logs,
    results,
    local,
    bench,
    models,
    demo,
    sample_data,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="textbatch",
        description="Train a text classifier and classify CSV files, locally or on AWS Batch.\n\n"
        "Every command has --help with examples. Exit codes: 0 done, 1 an error (one line on\n"
        "stderr, with a hint), 2 a wrong command line; `status` also 3 (failed) and 4 (still\n"
        "running or pending): docs/operations.md.",
        epilog=examples(
            "textbatch train --config config/fast.json --input claims.csv -o model-store",
            "textbatch predict --model model-store --input new.csv -o results/",
            'textbatch local up && eval "$(textbatch local env)"',
            "textbatch status s3://BUCKET/claims.csv --json",
        ),
    )
    parser.add_argument("--version", action="version", version=f"textbatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    return parser


NETWORKS_MODULES = ("torch", "spacy")  # pyproject's `networks` extra
BATCH_JOBS = tuple(JOBS)  # the commands Batch runs (textbatch_contract.jobs)


def stop_on_sigterm() -> None:
    """Batch stops a job with SIGTERM, then SIGKILL 30 s later: the process raises Stopped where
    it is, so that the job logs it and writes its file's error report in that time. (The workers
    it forks put SIGTERM back to its default: textbatch.model.workers.)"""

    def stop(_signum: int, _frame: object) -> None:
        raise Stopped(
            "stopped by SIGTERM: AWS Batch terminated the job, or its attempt timed out",
            hint="see the job's status reason (`textbatch status`); upload the file again to retry",
        )

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in BATCH_JOBS:
        stop_on_sigterm()
        calls.set_component(f"job-{args.command}")  # whose calls, in a call log
    try:
        if args.command in BATCH_JOBS:
            from textbatch.jobs.events import use_log_format

            use_log_format(getattr(args, "log_format", None))
        return int(args.run(args) or 0)
    except TextbatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if exc.name not in NETWORKS_MODULES:
            raise
        # the CPU image and a plain `pip install textbatch` have no torch or spaCy
        print(
            f"error: this needs {exc.name}, which this installation lacks (the torch networks "
            "and training)\n  hint: pip install 'textbatch[networks]', or run it in the GPU image",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        if not type(exc).__module__.startswith(("botocore", "boto3")):
            raise
        # an AWS call failed (credentials, endpoint, permissions): one line, as for our errors
        if type(exc).__name__ in ("NoRegionError", "NoCredentialsError", "EndpointConnectionError"):
            print(
                f"error: AWS: {exc}\n  hint: pass --region and --profile (or set AWS_REGION), "
                "or, for the local cloud: textbatch local up, then "
                'eval "$(textbatch local env)"',
                file=sys.stderr,
            )
            return 1
        print(
            f"error: AWS: {exc}\n  hint: check --stage, --region, --profile and --endpoint "
            "(or the AWS configuration) and your permissions",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
