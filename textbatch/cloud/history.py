"""What Batch, the logs and the results bucket say about jobs and the files they process."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from textbatch_contract import OutputPlan, events, jobs
from textbatch_contract import stack as stack_outputs
from textbatch_contract.revisions import SUPERSEDED
from textbatch_contract.settings import STACK_OUTPUTS

from textbatch.cloud.deployment import Deployment
from textbatch.cloud.follow import log_stream

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    name: str
    kind: str  # "predict", "train", ...: the job definition's role
    step: str | None  # "split", "predict-part" or "merge" for a large file's jobs
    queue: str
    status: str
    attempts: int
    created: float  # epoch seconds
    started: float | None
    stopped: float | None
    input: str | None
    output: str | None  # the result file a predict job writes (or wrote)
    rows_done: int | None
    status_reason: str | None
    raw: dict[str, Any]
    # the revision that superseded this job's (its `superseded` log line): it wrote nothing
    superseded_by: str | None = None

    @property
    def plan(self) -> OutputPlan | None:
        """Where a predict job writes its result, summary and error report."""
        return _plan(self.raw) if self.kind == "predict" else None

    @property
    def parts_prefix(self) -> str | None:
        """Where a large file's jobs keep its parts (their `--parts` option)."""
        return jobs.value_of(self.raw, jobs.PARTS.name) if self.step else None

    @property
    def depends_on(self) -> list[str]:
        return [d["jobId"] for d in self.raw.get("dependsOn") or []]

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.stopped or time.time()) - self.started


def _plan(job: dict[str, Any]) -> OutputPlan | None:
    """Where a described predict job (or one of a file's other jobs) writes the file's results."""
    uri, output = jobs.value_of(job, jobs.INPUT.name), jobs.value_of(job, jobs.OUTPUT.name)
    return OutputPlan.for_request(uri, output) if uri and output else None


def parse_events(lines: list[str]) -> list[dict[str, Any]]:
    """The job events and decisions among log lines (others dropped)."""
    return [record for line in lines if (record := events.parse(line)) is not None]


def rows_done(records: list[dict[str, Any]]) -> int | None:
    for event in reversed(records):
        name = event.get(events.EVENT)
        if name in (events.DONE, events.MERGE_DONE) and events.ROWS_IN in event:
            return int(event[events.ROWS_IN])
        if name == events.PROGRESS:
            return int(event[events.ROWS_DONE])
    return None


def record(
    job: dict[str, Any], *, logs: Any, log_group: str, queue_names: dict[str, str]
) -> JobRecord:
    definition = job.get("jobDefinition", "").rsplit("/", 1)[-1].rsplit(":", 1)[0]
    kind = (
        "predict" if "predict" in definition else "train" if "train" in definition else definition
    )
    step = jobs.name_of(job)
    plan = _plan(job) if kind == "predict" else None
    tail = parse_events(tail_lines(logs, log_group, job))
    return JobRecord(
        job_id=job["jobId"],
        name=job["jobName"],
        kind=kind,
        step=step if step in (s.name for s in jobs.STEPS) else None,
        queue=queue_names.get(job.get("jobQueue", ""), job.get("jobQueue", "").rsplit("/", 1)[-1]),
        status=job["status"],
        attempts=len(job.get("attempts", [])),
        created=job["createdAt"] / 1000,
        started=job["startedAt"] / 1000 if job.get("startedAt") else None,
        stopped=job["stoppedAt"] / 1000 if job.get("stoppedAt") else None,
        input=jobs.value_of(job, jobs.INPUT.name) or jobs.value_of(job, jobs.DATA.name),
        output=plan.csv if plan else jobs.value_of(job, jobs.OUT.name),
        rows_done=rows_done(tail),
        status_reason=job.get("statusReason"),
        raw=job,
        superseded_by=next((e.get("current") for e in tail if e.get("event") == SUPERSEDED), None),
    )


def tail_lines(logs: Any, log_group: str, job: dict[str, Any], limit: int = 20) -> list[str]:
    stream = log_stream(job)
    if not stream:
        return []
    try:
        page = logs.get_log_events(
            logGroupName=log_group, logStreamName=stream, startFromHead=False, limit=limit
        )
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in page["events"]]


def job_summaries(batch: Any, queues: list[str]) -> list[dict[str, Any]]:
    """ListJobs summaries of every state in the given queues."""
    paginator = batch.get_paginator("list_jobs")
    return [
        summary
        for queue in queues
        for status in STATUSES
        for page in paginator.paginate(jobQueue=queue, jobStatus=status)
        for summary in page["jobSummaryList"]
    ]


def recent_summaries(batch: Any, queues: list[str], *, after_ms: int) -> list[dict[str, Any]]:
    """ListJobs summaries of the jobs created after `after_ms` (epoch milliseconds), every
    state, with Batch's AFTER_CREATED_AT filter: one paginated query per queue (with a filter,
    Batch ignores jobStatus and returns every state: the ListJobs API reference). The cut is
    applied here too, for an emulator that ignores the filter (moto does)."""
    paginator = batch.get_paginator("list_jobs")
    after = [{"name": "AFTER_CREATED_AT", "values": [str(after_ms)]}]
    return [
        summary
        for queue in queues
        for page in paginator.paginate(jobQueue=queue, filters=after)
        for summary in page["jobSummaryList"]
        if summary.get("createdAt", 0) >= after_ms
    ]


def recent_jobs(
    deployment: Deployment, *, batch: Any, logs: Any, since_seconds: float
) -> list[JobRecord]:
    """Jobs of both queues created in the last `since_seconds`, newest first. Each job's log
    tail (its rows done) is read in a few threads: one GetLogEvents per job."""
    cutoff = int((time.time() - since_seconds) * 1000)
    queues = [
        deployment.outputs[k]
        for k in (STACK_OUTPUTS["gpu_job_queue"], STACK_OUTPUTS["cpu_job_queue"])
        if deployment.outputs.get(k)
    ]
    ids = [
        j["jobId"]
        for j in recent_summaries(batch, queues, after_ms=cutoff)
        if ":" not in j["jobId"]
    ]  # array children (<array id>:<index>) are shown through their parent
    described = describe(batch, ids)
    arn_to_name = {
        j["jobQueue"]: j["jobQueue"].rsplit("/", 1)[-1] for j in described if "jobQueue" in j
    }
    log_group = deployment.output(stack_outputs.JOB_LOG_GROUP)
    with ThreadPoolExecutor(max_workers=8) as pool:
        records = list(
            pool.map(
                lambda j: record(j, logs=logs, log_group=log_group, queue_names=arn_to_name),
                described,
            )
        )
    return sorted(records, key=lambda r: r.created, reverse=True)


def describe(batch: Any, ids: list[str]) -> list[dict[str, Any]]:
    found = []
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 100):
        found += batch.describe_jobs(jobs=unique[start : start + 100])["jobs"]
    return found
