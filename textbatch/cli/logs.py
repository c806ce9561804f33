"""A job's CloudWatch log lines (`JOB_ID`), or those of a file's latest job (`s3://bucket/key`)
with the trigger's lines for that file first. --follow keeps reading until the job ends; a
predict job's progress lines show as a progress bar (rows done, rows/s, ETA).

A large file's run shows as one story: the split job's lines, every part's lines marked
`[part N]`, then the merge's. While following it, the parts' progress lines become one bar for
the whole file (rows done over the file's rows, parts done, rows/s, ETA).

--json prints JSON lines instead, one per log line as the job wrote it (a part's with `part`
added; a line that is not JSON as {"message": ...}), and one {"event": "job_status", ...} per
state the job reaches while followed. Exit code: 0 when the job succeeded or runs, 1 failed."""

from __future__ import annotations

import argparse
import json
import time

from textbatch_contract import events
from textbatch_contract import stack as stack_outputs

from textbatch.cli._cloud import Connection, connect
from textbatch.cli.options import add_cloud_options, add_follow, examples
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
from textbatch.jobs.render import progress_bar, readable

WAIT_FOR_JOB_S = 120


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "logs",
        help="a job's log lines",
        description=__doc__,
        epilog=examples(
            "textbatch logs s3://BUCKET/claims.csv --follow",
            "textbatch logs JOB_ID",
            "textbatch logs s3://BUCKET/claims.csv --json | jq -c 'select(.event == \"progress\")'",
        ),
    )
    parser.add_argument("target", help="a job id, or s3://bucket/key of an uploaded file")
    add_follow(parser, "keep reading until the job ends")
    parser.add_argument(
        "--json", action="store_true", help="print JSON lines, as the job wrote them"
    )
    add_cloud_options(parser)
    parser.set_defaults(run=run)


class Printer:
    """Where `logs` writes: readable lines, or JSON lines with --json (flushed: a follower
    reads them as they come)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def line(self, line: str, part: int | None = None) -> None:
        if self.as_json:
            event = events.parse(line)
            record = {"message": line} if event is None else dict(event)
            if part is not None:
                record["part"] = part
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(f"{'' if part is None else f'[part {part}] '}{readable(line)}", flush=True)

    def status(self, step: str, job_id: str, status: str, part: int | None = None) -> None:
        if self.as_json:
            record = {"event": "job_status", "step": step, "job_id": job_id, "status": status}
            if part is not None:
                record["part"] = part
            print(json.dumps(record), flush=True)
        else:
            label = "" if part is None else f"[part {part}] "
            print(f"{label}{step} {job_id}: {status}", flush=True)

    def bar(self, text: str) -> None:
        if not self.as_json:  # the parts' own progress lines are in the JSON lines already
            print(text, flush=True)


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


def print_run_lines(c: Connection, run: ScaledRun, group: str, out: Printer) -> int:
    for step in run.steps:
        if step is run.array:  # every part that ran, in part order
            started = describe(c.batch, children_ids(c.batch, step.job_id, STARTED))
            for child in sorted(started, key=lambda job: child_index(job["jobId"])):
                for line in job_lines(c.logs, child, log_group=group):
                    out.line(line, part=child_index(child["jobId"]))
        else:
            for line in job_lines(c.logs, step.raw, log_group=group):
                out.line(line)
    return 1 if run.status == "FAILED" else 0


def follow_run(c: Connection, run: ScaledRun, group: str, out: Printer) -> int:
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
            print_update(update, step, progress, out)
        if final["status"] != "SUCCEEDED":
            return 1
    return 0


def print_update(
    update: JobUpdate, step: JobRecord, progress: FileProgress | None, out: Printer
) -> None:
    """A step's state or line; a part's progress lines only through the file's progress bar."""
    job_id = update.job["jobId"]
    part = child_index(job_id) if job_id != step.job_id else None
    if update.status:
        out.status(step.step or "job", job_id, update.status, part)
        return
    line = update.line or ""
    event = events.parse(line)
    folded = progress is not None and part is not None and event is not None
    if out.as_json or not (folded and event.get(events.EVENT) == events.PROGRESS):
        out.line(line, part)
    if folded and (bar := progress.update(part, event)):
        out.bar(bar)


def run(args: argparse.Namespace) -> int:
    c = connect(args)
    out = Printer(args.json)
    story = _story(args, c)
    for decision in story.decisions:
        out.line(json.dumps(decision))
    if not story.jobs:
        raise NotFoundError(f"no job has run for {args.target} yet")
    group = c.deployment.output(stack_outputs.JOB_LOG_GROUP)
    if story.scaled:
        if args.follow:
            return follow_run(c, story.scaled, group, out)
        return print_run_lines(c, story.scaled, group, out)
    job = story.jobs[-1]
    if not args.follow:
        for line in job_lines(c.logs, job.raw, log_group=group):
            out.line(line)
        return 0 if job.status != "FAILED" else 1
    final = job.raw
    for update in follow(c.batch, c.logs, job.job_id, log_group=group):
        final = update.job
        if update.status:
            out.status("job", job.job_id, update.status)
        elif update.line:
            out.line(update.line)
    return 0 if final["status"] == "SUCCEEDED" else 1
