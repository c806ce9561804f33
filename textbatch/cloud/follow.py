"""Batch jobs as an operator follows them: state changes and log lines as they arrive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from textbatch.errors import WaitTimeout

TERMINAL = ("SUCCEEDED", "FAILED")
STARTED = ("RUNNING", "SUCCEEDED", "FAILED")  # states in which a job may have logged


@dataclass(frozen=True)
class JobUpdate:
    """A state change (`status` set) or one log line (`line` set) of a followed job."""

    job: dict[str, Any]
    status: str | None = None
    line: str | None = None


def log_stream(job: dict[str, Any]) -> str | None:
    attempts = job.get("attempts") or []
    if attempts and attempts[-1].get("container", {}).get("logStreamName"):
        return attempts[-1]["container"]["logStreamName"]
    return job.get("container", {}).get("logStreamName")


class _JobReader:
    """One job's log lines and state change since the last look, lines first."""

    def __init__(self, logs: Any, log_group: str) -> None:
        self.logs, self.log_group = logs, log_group
        self.status: str | None = None
        self.stream: str | None = None
        self.token: str | None = None

    def updates(self, job: dict[str, Any]) -> Iterator[JobUpdate]:
        current = log_stream(job)
        if current and current != self.stream:  # a new attempt logs to a new stream
            self.stream, self.token = current, None
        if self.stream:
            for line, next_token in _new_lines(self.logs, self.log_group, self.stream, self.token):
                yield JobUpdate(job, line=line)
                self.token = next_token
        if job["status"] != self.status:
            self.status = job["status"]
            yield JobUpdate(job, status=self.status)


def _pause(deadline: float | None, what: str, status: str | None, poll_seconds: float) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise WaitTimeout(
            f"{what} still {status} after the time allowed",
            hint="it goes on in Batch: follow it with `textbatch status` or `textbatch logs`",
        )
    time.sleep(poll_seconds)


def follow(
    batch: Any,
    logs: Any,
    job_id: str,
    *,
    log_group: str,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
) -> Iterator[JobUpdate]:
    """Yield a job's log lines and state changes until it ends and its logs are read."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    reader = _JobReader(logs, log_group)
    while True:
        [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
        yield from reader.updates(job)
        if job["status"] in TERMINAL:
            return
        _pause(deadline, f"job {job_id}", job["status"], poll_seconds)


def children_ids(
    batch: Any,
    array_id: str,
    statuses: tuple[str, ...] = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", *STARTED),
) -> list[str]:
    """The ids (`<array id>:<index>`) of an array job's children in the given states."""
    paginator = batch.get_paginator("list_jobs")
    return [
        summary["jobId"]
        for status in statuses
        for page in paginator.paginate(
            arrayJobId=array_id, jobStatus=status, PaginationConfig={"PageSize": 1000}
        )
        for summary in page["jobSummaryList"]
    ]


def child_index(job_id: str) -> int:
    return int(job_id.rsplit(":", 1)[1])


def follow_parts(
    batch: Any,
    logs: Any,
    array_id: str,
    *,
    log_group: str,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
) -> Iterator[JobUpdate]:
    """Yield an array job's state changes, and its children's log lines and state changes
    (`job` is then the child), until the array ends and every child's log is read."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    status = None
    readers: dict[str, _JobReader] = {}
    drained: set[str] = set()  # children that ended and whose logs were read after that
    while True:
        [parent] = batch.describe_jobs(jobs=[array_id])["jobs"]
        ids = [i for i in children_ids(batch, array_id, STARTED) if i not in drained]
        for start in range(0, len(ids), 100):
            children = batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
            for child in sorted(children, key=lambda c: child_index(c["jobId"])):
                reader = readers.setdefault(child["jobId"], _JobReader(logs, log_group))
                yield from reader.updates(child)
                if child["status"] in TERMINAL:
                    drained.add(child["jobId"])
        if parent["status"] != status:
            status = parent["status"]
            yield JobUpdate(parent, status=status)
        if status in TERMINAL:
            return
        _pause(deadline, f"array job {array_id}", status, poll_seconds)


def _new_lines(logs: Any, group: str, stream: str, token: str | None) -> Iterator[tuple[str, str]]:
    while True:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        try:
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, **kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return
        for event in page["events"]:
            yield event["message"], page["nextForwardToken"]
        if not page["events"] or page["nextForwardToken"] == token:
            return
        token = page["nextForwardToken"]


def job_lines(logs: Any, job: dict[str, Any], *, log_group: str) -> list[str]:
    """Every log line of a job's last attempt."""
    stream = log_stream(job)
    return [line for line, _ in _new_lines(logs, log_group, stream, None)] if stream else []
