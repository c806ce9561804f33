"""Recent jobs as a table: input key, job id, queue, state, attempts, rows done, duration,
output key. Newest first. A large file's split, parts (array) and merge jobs show as one row
with its overall state and rows, then one indented row per job. --json prints one JSON
document: {"jobs": [...], "large_files": [...]}, each job with its attempts and times."""

from __future__ import annotations

import argparse
import re
import sys

from textbatch_contract import stack as stack_outputs

from textbatch.cli._cloud import connect, job_document, key_of, print_json, run_document, span
from textbatch.cli.options import add_cloud_options, examples
from textbatch.cloud.history import JobRecord, recent_jobs
from textbatch.cloud.scaled import ScaledRun, runs_of
from textbatch.errors import TextbatchError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HEADER = ("INPUT", "JOB ID", "QUEUE", "STATE", "TRIES", "ROWS", "TIME", "OUTPUT")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "jobs",
        help="list recent jobs",
        description=__doc__,
        epilog=examples(
            "textbatch jobs",
            "textbatch jobs --since 2d --stage prod",
            "textbatch jobs --json | jq -r '.jobs[] | select(.status == \"FAILED\") | .job_id'",
        ),
    )
    parser.add_argument("--since", default="1h", help="how far back: 30m, 1h, 2d (default 1h)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise TextbatchError(
            f"--since {text!r} is not a duration", hint="write it like 30m, 1h or 2d"
        )
    return int(match.group(1)) * UNITS[match.group(2)]


def job_row(r: JobRecord, label: str | None = None) -> tuple[str, ...]:
    return (
        label or (key_of(r.input) if r.kind == "predict" else f"[{r.kind}] {key_of(r.input)}"),
        r.job_id,
        r.queue,
        r.status,
        str(r.attempts),
        "-" if r.rows_done is None else str(r.rows_done),
        span(r.duration),
        "" if label else key_of(r.output),
    )


def run_rows(run: ScaledRun) -> list[tuple[str, ...]]:
    progress = run.progress
    done = "-"
    if progress.rows_done is not None:
        done = f"{progress.rows_done}/{progress.rows_total}"
    head = (
        key_of(run.array.input),
        run.array.job_id,
        run.array.queue,
        run.state,
        "-",
        done,
        span(run.duration),
        key_of(run.array.output),
    )
    parts = f"  {progress.size} parts: {progress.describe_states()}"
    rows = [head]
    if run.split:
        rows.append(job_row(run.split, "  split"))
    array = run.array
    rows.append(
        (parts, array.job_id, array.queue, array.status, "-", "-", span(array.duration), "")
    )
    if run.merge:
        rows.append(job_row(run.merge, "  merge"))
    return rows


def run(args: argparse.Namespace) -> int:
    since = seconds(args.since)
    connection = connect(args)
    records = recent_jobs(
        connection.deployment, batch=connection.batch, logs=connection.logs, since_seconds=since
    )
    found = list(
        runs_of(
            records,
            batch=connection.batch,
            logs=connection.logs,
            log_group=connection.deployment.output(stack_outputs.JOB_LOG_GROUP),
            storage=connection.storage,
        )
    )
    if args.json:
        print_json(
            {
                "stage": args.stage,
                "since": args.since,
                "jobs": [job_document(i) for i in found if not isinstance(i, ScaledRun)],
                "large_files": [run_document(i) for i in found if isinstance(i, ScaledRun)],
            }
        )
        return 0
    if not found:
        print(f"no jobs in the last {args.since} on stage {args.stage}", file=sys.stderr)
        return 0
    rows = [HEADER]
    for item in found:
        rows += run_rows(item) if isinstance(item, ScaledRun) else [job_row(item)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    connection.print_runtime()
    return 0
