"""Fetch the result of an uploaded file (`s3://bucket/key`): the output CSV (or, with --review,
the rows to review) to -o FILE or stdout; or the error report, on stderr, with exit code 1.
Only the CSV goes to stdout, so `textbatch results URI > out.csv` never writes a report into a
CSV. --json prints the result's summary (<stem>_output.json: rows, rejected rows, review and
shift blocks) instead of the CSV. Exit code: 0 a result, 1 no result yet or an error report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textbatch_contract.review import SUMMARY_REVIEW as REVIEW

from textbatch.cli._cloud import connect, print_json
from textbatch.cli.options import add_cloud_options, examples
from textbatch.errors import TextbatchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "results",
        help="fetch a file's result",
        description=__doc__,
        epilog=examples(
            "textbatch results s3://BUCKET/claims.csv -o claims_output.csv",
            "textbatch results s3://BUCKET/claims.csv --review > to_review.csv",
            "textbatch results s3://BUCKET/claims.csv --json | jq .review",
        ),
    )
    parser.add_argument("target", help="s3://bucket/key of an uploaded file")
    parser.add_argument("--output", "-o", type=Path, help="write the CSV here")
    parser.add_argument("--json", action="store_true", help="print the result's summary instead")
    parser.add_argument(
        "--review",
        action="store_true",
        help="the file's rows to review (<stem>_review.csv) instead of the whole output",
    )
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = c.story(args.target)
    if story.error:
        print(json.dumps(story.error, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    if not story.summary:
        state = story.jobs[-1].status if story.jobs else "not submitted"
        earlier = " (an earlier upload of it has one)" if story.earlier else ""
        raise TextbatchError(
            f"no result for the newest upload of {args.target} yet (job {state}){earlier}",
            hint=f"follow it: textbatch logs {args.target} --follow",
        )
    if args.json:
        print_json(story.summary)
        return 0
    output = story.summary["output"]
    rows = story.summary["rows_out"]
    if args.review:
        block = story.summary.get(REVIEW)
        if not block:
            raise TextbatchError(
                f"the result of {args.target} has no review file (a cluster result, or one "
                "written before review routing)",
                hint="upload the file again to have it classified with review routing",
            )
        output, rows = block["file"], block["rows_to_review"]
    if args.output:
        c.storage.download(output, args.output)
        print(f"wrote {args.output} ({rows} rows) from {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(c.storage.read_bytes(output))
    return 0
