"""A job's CloudWatch log lines (`JOB_ID`), or those of a file's latest job (`s3://bucket/key`)
with the trigger's lines for that file first. --follow keeps reading until the job ends; a
predict job's progress lines show as a progress bar (rows done, rows/s, ETA)."""

from __future__ import annotations

import argparse
import json
import time

from textbatch.cli._cloud import Connection, add_cloud_options, connect
from textbatch.cloud.jobs import follow, job_lines
from textbatch.cloud.story import NotFoundError, Story

HIDDEN = ("event", "job", "time")
WAIT_FOR_JOB_S = 120


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("logs", help="a job's log lines", description=__doc__)
    parser.add_argument("target", help="a job id, or s3://bucket/key of an uploaded file")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep reading until the job ends"
    )
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def readable(line: str) -> str:
    """A JSON log line as `time event key=value ...`; anything else unchanged."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return line
    if not isinstance(event, dict) or ("event" not in event and "decision" not in event):
        return line
    if event.get("event") == "progress":
        return progress_bar(event)
    kind = event.get("event") or f"trigger {event.get('decision')}"
    details = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
        for k, v in event.items()
        if k not in (*HIDDEN, "decision", "component")
    )
    return f"{event.get('time', '')[11:19]} {kind} {details}".strip()


def _story(args: argparse.Namespace, c: Connection) -> Story:
    """With --follow on a file just uploaded, wait for the trigger to submit its job."""
    deadline = time.monotonic() + (WAIT_FOR_JOB_S if args.follow else 0)
    while True:
        try:
            story = c.story(args.target)
            if story.jobs or time.monotonic() > deadline:
                return story
        except NotFoundError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def progress_bar(event: dict) -> str:
    percent = event.get("percent")
    filled = int((percent or 0) / 5)
    bar = "#" * filled + "." * (20 - filled)
    eta = f"ETA {event['eta_s']:.0f}s" if event.get("eta_s") is not None else "ETA -"
    shown = f"{percent:5.1f}%" if percent is not None else "    ?%"
    return (
        f"{event.get('time', '')[11:19]} [{bar}] {shown}  {event['rows_done']} rows  "
        f"{event['rows_per_s']:.0f} rows/s  {eta}"
    )


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = _story(args, c)
    for decision in story.decisions:
        print(readable(json.dumps(decision)))
    if not story.jobs:
        raise NotFoundError(f"no job has run for {args.target} yet")
    job = story.jobs[-1]
    group = c.deployment.output("JobLogGroup")
    if not args.follow:
        for line in job_lines(c.logs, job.raw, log_group=group):
            print(readable(line))
        return 0 if job.status != "FAILED" else 1
    final = job.raw
    for update in follow(c.batch, c.logs, job.job_id, log_group=group):
        final = update.job
        if update.status:
            print(f"job {job.job_id}: {update.status}", flush=True)
        elif update.line:
            print(readable(update.line), flush=True)
    return 0 if final["status"] == "SUCCEEDED" else 1
