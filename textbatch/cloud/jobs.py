"""Batch jobs as an operator follows them: state changes and log lines as they arrive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TERMINAL = ("SUCCEEDED", "FAILED")


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


def follow(
    batch: Any,
    logs: Any,
    job_id: str,
    *,
    log_group: str,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
) -> Iterator[JobUpdate]:
    """Yield a job's state changes and log lines until it ends and its logs are read."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    status, stream, token = None, None, None
    while True:
        [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] != status:
            status = job["status"]
            yield JobUpdate(job, status=status)
        current = log_stream(job)
        if current and current != stream:
            stream, token = current, None
        if stream:
            for line, next_token in _new_lines(logs, log_group, stream, token):
                yield JobUpdate(job, line=line)
                token = next_token
        if status in TERMINAL:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)


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
