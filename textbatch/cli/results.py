"""Fetch the result of an uploaded file (`s3://bucket/key`): the output CSV to -o FILE (or
stdout), or the error report, printed, with exit code 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textbatch.cli._cloud import connect
from textbatch.cli.options import add_cloud_options
from textbatch.errors import TextbatchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("results", help="fetch a file's result", description=__doc__)
    parser.add_argument("target", help="s3://bucket/key of an uploaded file")
    parser.add_argument("-o", "--output", type=Path, help="write the output CSV here")
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = c.story(args.target)
    if story.error:
        print(json.dumps(story.error, indent=2, ensure_ascii=False))
        return 1
    if not story.summary:
        state = story.jobs[-1].status if story.jobs else "not submitted"
        earlier = " (an earlier upload of it has one)" if story.earlier else ""
        raise TextbatchError(
            f"no result for the newest upload of {args.target} yet (job {state}){earlier}",
            hint=f"follow it: textbatch logs {args.target} --follow",
        )
    output = story.summary["output"]
    if args.output:
        c.storage.download(output, args.output)
        print(f"wrote {args.output} ({story.summary['rows_out']} rows) from {output}")
    else:
        sys.stdout.buffer.write(c.storage.read_bytes(output))
    return 0
