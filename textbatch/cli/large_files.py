"""The three jobs of a large file (the trigger submits them together; Batch runs them in order):

split         stream the CSV once, write N parts cut on record boundaries, and plan.json
predict-part  one array child: predict part AWS_BATCH_JOB_ARRAY_INDEX of the plan
merge         assemble <stem>_output.csv and one summary in input order, remove the parts
"""

from __future__ import annotations

import argparse
import os

from textbatch_contract.jobs import EVENTS_JOB, MERGE, PART, SPLIT
from textbatch_contract.jobs import input_version as requested_version


def add_parser(commands: argparse._SubParsersAction) -> None:
    for job, run in ((SPLIT, run_split), (PART, run_part), (MERGE, run_merge)):
        # no `help`: Batch runs these; they stay out of `textbatch --help`'s list
        parser = commands.add_parser(job.name, description=f"{job.help}. {__doc__}")
        job.add_options(parser)
        if job is PART:
            parser.add_argument(
                "--index",
                type=int,
                default=None,
                help="part number (default: $AWS_BATCH_JOB_ARRAY_INDEX, as Batch sets it)",
            )
        parser.set_defaults(run=run)


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
        log=EventLog(job=EVENTS_JOB[SPLIT.name]),
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
        log=EventLog(job=EVENTS_JOB[PART.name]),
    )
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from textbatch.io.storage import Storage
    from textbatch.jobs.events import EventLog
    from textbatch.scale.merge import run_merge as merge

    merge(args.parts, args.output, storage=Storage(), log=EventLog(job=EVENTS_JOB[MERGE.name]))
    return 0
