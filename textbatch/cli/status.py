"""A file's whole story (`s3://bucket/key`) or a job's (`JOB_ID`): the trigger's decisions,
each job's states and attempts, and the output or the error report.

The exit code follows the state, for scripts: 0 succeeded (the newest upload has its result),
3 failed (an error report, a failed job, or the trigger ignored the file), 4 still running or
pending (no outcome yet), 1 the file or job is not found or the stage cannot be reached.
--json prints the same story as one JSON document, with `state` and `exit_code`.
"""

from __future__ import annotations

import argparse
import time

from textbatch_contract import events

from textbatch.cli._cloud import clock, connect, job_document, print_json, run_document, span
from textbatch.cli.options import add_cloud_options, examples
from textbatch.cloud.follow import child_index
from textbatch.cloud.history import JobRecord
from textbatch.cloud.scaled import ScaledRun
from textbatch.cloud.story import Story
from textbatch.jobs.routing import summary_lines


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "status",
        help="what happened to a file or job",
        description=__doc__,
        epilog=examples(
            "textbatch status s3://BUCKET/claims.csv",
            "textbatch status s3://BUCKET/claims.csv --json | jq .state",
            "while textbatch status s3://BUCKET/a.csv >/dev/null; [ $? -eq 4 ]; do sleep 10; done",
            "textbatch status 6f1c2d3e-...   (a job id, from `textbatch jobs`)",
        ),
    )
    parser.add_argument("target", help="s3://bucket/key of an uploaded file, or a job id")
    parser.add_argument("--json", action="store_true", help="print the story as one JSON document")
    add_cloud_options(parser)
    parser.set_defaults(run=run)


def print_attempts(job: JobRecord, indent: str) -> None:
    for number, attempt in enumerate(job.raw.get("attempts", []), start=1):
        container = attempt.get("container", {})
        exit_code = container.get("exitCode", "-")
        reason = attempt.get("statusReason", "")
        started = attempt.get("startedAt")
        print(
            f"{indent}attempt {number}: started {clock(started / 1000 if started else None)}, "
            f"exit code {exit_code}, {reason}; log stream {container.get('logStreamName', '-')}"
        )


def print_run(run: ScaledRun) -> None:
    """The large file's run as one: its stage and overall progress."""
    progress = run.progress
    line = f"large file: {progress.size} parts, {run.state}"
    if progress.rows_done is not None:
        line += f", {progress.rows_done} of {progress.rows_total} rows"
    if progress.percent is not None:
        line += f" ({progress.percent:.1f}%)"
    print(f"{line}, took {span(run.duration)}")


def print_children(run: ScaledRun) -> None:
    """Children by state, then those worth a look: running, failed or retried."""
    print(f"  parts: {run.progress.describe_states()}")
    for child in run.progress.children:
        rows = "" if child.rows_done is None else f", {child.rows_done} rows done"
        print(
            f"  part {child_index(child.job_id)} (job {child.job_id}): {child.status}, "
            f"{child.attempts} attempt(s){rows}"
        )
        print_attempts(child, "    ")


# the state of a story -> the exit code (documented above and in docs/operations.md)
EXIT_CODES = {"succeeded": 0, "failed": 3, "ignored": 3, "running": 4, "pending": 4}


def state_of(story: Story) -> str:
    """succeeded, failed, ignored (by the trigger), running or pending: the newest upload's."""
    if story.summary:
        return "succeeded"
    if story.error:
        return "failed"
    newest = story.jobs[-1] if story.jobs else None
    if story.scaled and story.scaled.status == "FAILED":
        return "failed"
    if newest is not None:
        if newest.status == "FAILED":
            return "failed"
        if newest.status == "SUCCEEDED" and story.uri is None:
            return "succeeded"  # a job asked for by id (a train job has no file's result)
        return "running" if newest.status in ("STARTING", "RUNNING") else "pending"
    last = story.decisions[-1].get(events.DECISION) if story.decisions else None
    return "ignored" if last == "ignored" else "pending"


def document(story: Story, state: str) -> dict:
    return {
        "file": story.uri,
        "state": state,
        "exit_code": EXIT_CODES[state],
        "decisions": story.decisions,
        "jobs": [job_document(job) for job in story.jobs],
        "large_file": run_document(story.scaled) if story.scaled else None,
        "result": story.summary,
        "error": story.error,
        "earlier": story.earlier,
    }


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = c.story(args.target)
    state = state_of(story)
    if args.json:
        print_json(document(story, state))
    else:
        print_story(story, state)
        c.print_runtime()
    return EXIT_CODES[state]


def print_story(story: Story, state: str) -> None:
    print(f"file: {story.uri or '-'}")
    for decision in story.decisions:
        when = decision.get(events.TIME, "")
        detail = decision.get("reason") or (
            f"job {decision['job_id']}" if decision.get("job_id") else ""
        )
        print(f"  {when}  trigger: {decision[events.DECISION]} {detail}".rstrip())
    if story.scaled:
        print_run(story.scaled)
    for job in story.jobs:
        print(f"job {job.job_id} ({job.step or job.kind}, {job.name}) on {job.queue}: {job.status}")
        print(
            f"  created {clock(job.created)}, started {clock(job.started)}, "
            f"ended {clock(job.stopped)}, took {span(job.duration)}"
        )
        print_attempts(job, "  ")
        if job.rows_done is not None:
            print(f"  rows done: {job.rows_done}")
        if job.superseded_by:
            print(
                f"  superseded: revision {job.superseded_by} of the file was uploaded since; "
                "this job wrote nothing (the newer revision's job writes the outcome)"
            )
        if job.status == "FAILED" and job.status_reason:
            print(f"  failed: {job.status_reason}")
        if story.scaled and job is story.scaled.array:
            print_children(story.scaled)
    if story.summary and "n_clusters" in story.summary:  # the cluster job's
        s = story.summary
        print(
            f"result: {s['output']}\n  {s['rows_in']} rows in, {s['rows_clustered']} clustered, "
            f"{s['rows_rejected']} rejected, {s['n_clusters']} clusters "
            f"({s['choice'].get('rule', '')}), {s['rows_per_s']} rows/s\n"
            f"  clusters: {s['clusters_file']}"
        )
        for rejected in s.get("rejected", [])[:10]:
            print(
                f"  rejected row {rejected['row']} (line {rejected['line']}): {rejected['reason']}"
            )
    elif story.summary:
        s = story.summary
        print(
            f"result: {s['output']}\n  {s['rows_in']} rows in, {s['rows_predicted']} predicted, "
            f"{s['rows_rejected']} rejected, model {s['model_version']}"
            + (f", {s['rows_per_s']} rows/s" if "rows_per_s" in s else f", {s['parts']} parts")
        )
        for line in summary_lines(s):
            print("  " + line)
        for rejected in s.get("rejected", [])[:10]:
            print(
                f"  rejected row {rejected['row']} (line {rejected['line']}): {rejected['reason']}"
            )
    elif story.error:
        print(f"error report: {story.error['error']}: {story.error['message']}")
        for part in story.error.get("parts", []):
            print(f"  part {part['index']} (from row {part['first_row']}): {part['message']}")
        if story.error.get("hint"):
            print(f"  hint: {story.error['hint']}")
    elif state in ("running", "pending"):
        print(f"no result yet ({time.strftime('%H:%M:%S')})")
