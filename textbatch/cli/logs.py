"""A job's CloudWatch log lines (`JOB_ID`), or those of a file's latest job (`s3://bucket/key`)
with the trigger's lines for that file first. --follow keeps reading until the job ends; a
predict job's progress lines show as a progress bar (rows done, rows/s, ETA).

A large file's run shows as one story: the split job's lines, every part's lines marked
`[part N]`, then the merge's. While following it, the parts' progress lines become one bar for
the whole file (rows done over the file's rows, parts done, rows/s, ETA)."""

from __future__ import annotations

import argparse
import json
import time

from textbatch_contract import events
from textbatch_contract import stack as stack_outputs

from textbatch.cli._cloud import Connection, connect
from textbatch.cli.options import add_cloud_options
from textbatch.cloud.follow import (
    STARTED,
    JobUpdate,
    child_index,
    children_ids,
    follow,
    follow_parts,
    job_lines,
)
from textbatch.cloud.history import JobRecord, describe
from textbatch.cloud.scaled import ScaledRun, part_rows
from textbatch.cloud.story import NotFoundError, Story

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
    event = events.parse(line)
    if event is None:
        return line
    if event.get(events.EVENT) == events.PROGRESS:
        return progress_bar(event)
    details = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
        for k, v in events.fields_of(event).items()
    )
    return f"{event.get(events.TIME, '')[11:19]} {events.name_of(event)} {details}".strip()


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


class FileProgress:
    """The parts' progress lines folded into one progress for the whole file."""

    def __init__(self, part_rows: list[int] | None, parts: int) -> None:
        self.total = sum(part_rows) if part_rows is not None else None
        self.parts = parts
        self.rows: dict[int, int] = {}  # part -> rows done
        self.rates: dict[int, float] = {}  # running part -> its rows/s
        self.rate = 0.0  # the running parts' rows/s together
        self.finished: set[int] = set()
        self.shown = -1.0

    def update(self, index: int, event: dict) -> str | None:
        """A progress bar line when the file's percentage moved by a point or a part ended."""
        if event.get(events.EVENT) == events.PROGRESS:
            self.rows[index] = int(event[events.ROWS_DONE])
            self.rates[index] = float(event.get("rows_per_s") or 0)
        elif event.get(events.EVENT) == events.DONE and events.ROWS_IN in event:
            self.rows[index] = int(event[events.ROWS_IN])
            self.rates.pop(index, None)
            self.finished.add(index)
        else:
            return None
        self.rate = sum(self.rates.values()) or self.rate
        done = sum(self.rows.values())
        percent = 100.0 * done / self.total if self.total else None
        if (
            percent is not None
            and percent - self.shown < 1
            and event.get(events.EVENT) != events.DONE
        ):
            return None
        self.shown = percent if percent is not None else self.shown
        eta = (self.total - done) / self.rate if self.total and self.rate > 0 else None
        bar = progress_bar(
            {"time": event.get("time", ""), "percent": percent, "rows_done": done,
             "rows_per_s": self.rate, "eta_s": eta}
        )  # fmt: skip
        return f"{bar}  {len(self.finished)}/{self.parts} parts"


def print_run_lines(c: Connection, run: ScaledRun, group: str) -> int:
    for step in run.steps:
        if step is run.array:  # every part that ran, in part order
            started = describe(c.batch, children_ids(c.batch, step.job_id, STARTED))
            for child in sorted(started, key=lambda job: child_index(job["jobId"])):
                for line in job_lines(c.logs, child, log_group=group):
                    print(f"[part {child_index(child['jobId'])}] {readable(line)}")
        else:
            for line in job_lines(c.logs, step.raw, log_group=group):
                print(readable(line))
    return 1 if run.status == "FAILED" else 0


def follow_run(c: Connection, run: ScaledRun, group: str) -> int:
    """Follow split, parts and merge in turn; stop at the first that does not succeed."""
    for step in run.steps:
        final = step.raw
        progress = None
        if step is run.array:
            progress = FileProgress(part_rows(c.storage, step.parts_prefix), run.progress.size)
            updates = follow_parts(c.batch, c.logs, step.job_id, log_group=group)
        else:
            updates = follow(c.batch, c.logs, step.job_id, log_group=group)
        for update in updates:
            if update.job["jobId"] == step.job_id:
                final = update.job
            print_update(update, step, progress)
        if final["status"] != "SUCCEEDED":
            return 1
    return 0


def print_update(update: JobUpdate, step: JobRecord, progress: FileProgress | None) -> None:
    """A step's state or line; a part's progress lines only through the file's progress bar."""
    job_id = update.job["jobId"]
    part = child_index(job_id) if job_id != step.job_id else None
    label = "" if part is None else f"[part {part}] "
    if update.status:
        print(f"{label}{step.step or 'job'} {job_id}: {update.status}", flush=True)
        return
    line = update.line or ""
    event = events.parse(line)
    folded = progress is not None and part is not None and event is not None
    if not (folded and event.get(events.EVENT) == events.PROGRESS):
        print(f"{label}{readable(line)}", flush=True)
    if folded and (bar := progress.update(part, event)):
        print(bar, flush=True)


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    story = _story(args, c)
    for decision in story.decisions:
        print(readable(json.dumps(decision)))
    if not story.jobs:
        raise NotFoundError(f"no job has run for {args.target} yet")
    group = c.deployment.output(stack_outputs.JOB_LOG_GROUP)
    if story.scaled:
        if args.follow:
            return follow_run(c, story.scaled, group)
        return print_run_lines(c, story.scaled, group)
    job = story.jobs[-1]
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
