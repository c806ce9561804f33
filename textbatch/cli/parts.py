"""The three jobs of a large file (the trigger submits them together; Batch runs them in order):

split         stream the CSV once, write N parts cut on record boundaries, and plan.json
predict-part  one array child: predict part AWS_BATCH_JOB_ARRAY_INDEX of the plan
merge         assemble <stem>_output.csv and one summary in input order, remove the parts
"""

from __future__ import annotations

import argparse
import os

from textbatch_contract import events
from textbatch_contract.commands import MERGE, PART, SPLIT
from textbatch_contract.commands import input_version as requested_version


def add_parser(commands: argparse._SubParsersAction) -> None:
    split = commands.add_parser(SPLIT, help="split a large CSV into parts (Batch job)")
    split.add_argument("--input", required=True, help="the CSV: a path or s3:// URI")
    split.add_argument("--parts", required=True, help="prefix (or directory) for the parts")
    split.add_argument("--count", required=True, type=int, help="number of parts")
    split.add_argument("--output", required=True, help="where the file's results go")
    split.add_argument(
        "--input-version",
        help="the S3 version id of the input to read (default or 'latest': the latest)",
    )
    split.set_defaults(run=run_split)

    part = commands.add_parser(PART, help="predict one part (Batch array child)")
    part.add_argument("--model", required=True)
    part.add_argument("--parts", required=True, help="the prefix the split job wrote")
    part.add_argument("--output", required=True, help="where the file's results go")
    part.add_argument(
        "--index",
        type=int,
        default=None,
        help="part number (default: $AWS_BATCH_JOB_ARRAY_INDEX, as Batch sets it)",
    )
    part.set_defaults(run=run_part)

    merge = commands.add_parser(MERGE, help="merge the parts' results (Batch job)")
    merge.add_argument("--parts", required=True, help="the prefix the split job wrote")
    merge.add_argument("--output", required=True, help="where the file's results go")
    merge.set_defaults(run=run_merge)


def run_split(args: argparse.Namespace) -> int:
    from textbatch.io.storage import Storage
    from textbatch.jobs.events import EventLog
    from textbatch.scale.split import run_split as split

    split(
        args.input,
        args.parts,
        args.count,
        output=args.output,
        version=requested_version(args.input_version),
        storage=Storage(),
        log=EventLog(job=events.SPLIT_JOB),
    )
    return 0


def run_part(args: argparse.Namespace) -> int:
    from textbatch.errors import ConfigError
    from textbatch.io.storage import Storage
    from textbatch.jobs.events import EventLog
    from textbatch.scale.part import run_part as predict_part

    index = args.index
    if index is None:
        if "AWS_BATCH_JOB_ARRAY_INDEX" not in os.environ:
            raise ConfigError("no part index: pass --index or run as a Batch array child")
        index = int(os.environ["AWS_BATCH_JOB_ARRAY_INDEX"])
    predict_part(
        args.model,
        args.parts,
        args.output,
        index,
        storage=Storage(),
        log=EventLog(job=events.PREDICT_JOB),
    )
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from textbatch.io.storage import Storage
    from textbatch.jobs.events import EventLog
    from textbatch.scale.merge import run_merge as merge

    merge(args.parts, args.output, storage=Storage(), log=EventLog(job=events.MERGE_JOB))
    return 0
