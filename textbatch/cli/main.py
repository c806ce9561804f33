"""`textbatch`: one sub-command per module; each parses its arguments and calls a plain function.

A user's mistake (a TextbatchError) prints one short message and exits 1, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from textbatch import __version__
from textbatch.cli import (
    bench,
    demo,
    jobs,
    local,
    logs,
    parts,
    predict,
    results,
    sample_data,
    status,
    submit,
    train,
)
from textbatch.errors import TextbatchError

COMMANDS = (
    train,
    predict,
    parts,
    submit,
    jobs,
    status,
    logs,
    results,
    local,
    bench,
    demo,
    sample_data,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textbatch",
        description="Train a text classifier and classify CSV files, locally or on AWS Batch.",
    )
    parser.add_argument("--version", action="version", version=f"textbatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    return parser


NETWORKS_MODULES = ("torch", "spacy")  # pyproject's `networks` extra


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
