"""A file's whole story (`s3://bucket/key`) or a job's (`JOB_ID`): the trigger's decisions,
each job's states and attempts, and the output or the error report."""

from __future__ import annotations

import argparse
import time

from textbatch.cli._cloud import add_cloud_options, clock, connect, span


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "status", help="what happened to a file or job", description=__doc__
    )
    parser.add_argument("target", help="s3://bucket/key of an uploaded file, or a job id")
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = c.story(args.target)
    print(f"file: {story.uri or '-'}")
    for decision in story.decisions:
        when = decision.get("time", "")
        detail = decision.get("reason") or (
            f"job {decision['job_id']}" if decision.get("job_id") else ""
        )
        print(f"  {when}  trigger: {decision['decision']} {detail}".rstrip())
    for job in story.jobs:
        print(f"job {job.job_id} ({job.kind}, {job.name}) on {job.queue}: {job.status}")
        print(
            f"  created {clock(job.created)}, started {clock(job.started)}, "
            f"ended {clock(job.stopped)}, took {span(job.duration)}"
        )
        for number, attempt in enumerate(job.raw.get("attempts", []), start=1):
            container = attempt.get("container", {})
            exit_code = container.get("exitCode", "-")
            reason = attempt.get("statusReason", "")
            started = attempt.get("startedAt")
            print(
                f"  attempt {number}: started {clock(started / 1000 if started else None)}, "
                f"exit code {exit_code}, {reason}; log stream {container.get('logStreamName', '-')}"
            )
        if job.rows_done is not None:
            print(f"  rows done: {job.rows_done}")
        if job.status == "FAILED" and job.status_reason:
            print(f"  failed: {job.status_reason}")
    if story.summary:
        s = story.summary
        print(
            f"result: {s['output']}\n  {s['rows_in']} rows in, {s['rows_predicted']} predicted, "
            f"{s['rows_rejected']} rejected, model {s['model_version']}, {s['rows_per_s']} rows/s"
        )
        for rejected in s.get("rejected", [])[:10]:
            print(
                f"  rejected row {rejected['row']} (line {rejected['line']}): {rejected['reason']}"
            )
    elif story.error:
        print(f"error report: {story.error['error']}: {story.error['message']}")
        if story.error.get("hint"):
            print(f"  hint: {story.error['hint']}")
    elif story.jobs:
        print(f"no result yet ({time.strftime('%H:%M:%S')})")
    return 0
