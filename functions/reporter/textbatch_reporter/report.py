"""Every file ends in a result or an error report, also when its job could not write one.

A predict, split or merge job writes the file's `_error.json` itself when it fails on bad
input. Batch can stop a job before that: out of memory, the attempt timeout, a lost host on
every attempt. For those, on the job's FAILED event, this writes the report, with the reasons
Batch gave for each attempt. For a large file's array job it first gives each failed part
that lacks one its part report, then writes the file's `PartsFailed` report over all failed
parts, the shape the parts write themselves (textbatch/scale/merge.py).

Jobs that never ran (a dependency failed, or the trigger withdrew them) are left to the job
that failed first; train jobs (no `input`) are not about a file. Never overwrites a result.
"""

from __future__ import annotations

from typing import Any

from textbatch_contract import OutputPlan, jobs
from textbatch_contract.documents import STOPPED_ERROR, of_revision, read_json, write_json
from textbatch_contract.events import IGNORED, REPORTED
from textbatch_contract.parts import PARTS_FAILED, PartsPlan, parts_failed_report, plan_uri
from textbatch_contract.revisions import SUPERSEDED, Superseded, publication_for

from textbatch_reporter.log import log


def report_failure(detail: dict[str, Any], *, batch: Any, s3: Any) -> dict[str, Any]:
    job_id = detail["jobId"]
    [job] = batch.describe_jobs(jobs=[job_id])["jobs"] or [detail]
    uri = jobs.value_of(job, jobs.INPUT.name)
    output = jobs.value_of(job, jobs.OUTPUT.name)
    if job.get("status") != "FAILED":
        return log(IGNORED, job_id=job_id, reason=f"the job is {job.get('status')}")
    if not uri or not output:
        return log(IGNORED, job_id=job_id, reason="not a file's job (no input parameter)")
    if ":" in job_id:
        return log(IGNORED, job_id=job_id, reason="an array child: reported with its array job")
    version = jobs.value_of(job, jobs.INPUT_VERSION.name)
    reports = OutputPlan.for_request(uri, output)
    # an earlier revision's result or report is not this job's: it does not stop the report
    if of_revision(read_json(s3, reports.summary), version):
        return log(IGNORED, job_id=job_id, uri=uri, reason="the file has a result")
    if "arrayProperties" in job and "size" in job["arrayProperties"]:
        # children that ran and failed, and children no instance ever took (cancelled while
        # RUNNABLE by the queue's time limit: no attempts, a CAPACITY or MISCONFIGURATION reason)
        failed = [
            child
            for child in _failed_children(batch, job_id)
            if child.get("attempts") or never_placed(child)
        ]
        if failed:
            return _report_parts(job, failed, uri, reports, s3=s3)
    stuck = never_placed(job)
    if not stuck and (not job.get("attempts") or "arrayProperties" in job):
        return log(IGNORED, job_id=job_id, uri=uri, reason="never ran: its dependency failed")
    own = read_json(s3, reports.error)
    # a job stopped by SIGTERM reports only that; Batch's reason and attempts say more
    if of_revision(own, version) and own.get("error") != STOPPED_ERROR:
        return log(IGNORED, job_id=job_id, uri=uri, reason="the job wrote its error report")
    report = {
        "error": "JobFailed",
        "message": f"{jobs.name_of(job)} job {job_id} for {uri} was {_what_batch_did(job)}; "
        "no output was written",
        "input": uri,
        "input_version": version,
        "job_id": job_id,
        "attempts": _attempts(job),
        "hint": hint_for(job),
    }
    newer = _publish(s3, uri, version, reports, report)
    if newer is not None:
        return log(IGNORED, job_id=job_id, uri=uri, reason=SUPERSEDED, **newer.fields())
    return log(REPORTED, job_id=job_id, uri=uri, report=reports.error, error="JobFailed")


def _publish(
    s3: Any, uri: str, version: str | None, reports: OutputPlan, report: dict[str, Any]
) -> Superseded | None:
    """Write the file's report unless a newer revision of the upload exists (its outcome, or
    its jobs in flight, would be contradicted): textbatch_contract.revisions."""
    publication = publication_for(s3, input_uri=uri, version=version, outcome=reports.outcome())
    if publication is None:
        write_json(s3, reports.error, report)  # the latest: nothing to tell revisions apart
        return None
    try:
        publication.begin()
        publication.put_json(reports.error, report)
    except Superseded as newer:
        return newer
    return None


def _report_parts(
    array: dict[str, Any],
    failed: list[dict[str, Any]],
    uri: str,
    reports: OutputPlan,
    *,
    s3: Any,
) -> dict[str, Any]:
    prefix = jobs.value_of(array, jobs.PARTS.name)
    saved = read_json(s3, plan_uri(prefix)) if prefix else None
    if saved is None:
        return log(IGNORED, job_id=array["jobId"], uri=uri, reason="the parts' plan is gone")
    plan = PartsPlan.from_dict(saved)
    written = []
    for child in failed:
        index = int(child["jobId"].rsplit(":", 1)[1])
        part_error = plan.output_of(plan.parts[index]).error
        own = read_json(s3, part_error)
        # a part stopped by SIGTERM reports only that, as a job does: Batch's account says more
        if own is None or own.get("error") == STOPPED_ERROR:
            write_json(s3, part_error, {
                "error": "JobFailed",
                "message": _what_batch_did(child),
                "hint": hint_for(child),
                "job_id": child["jobId"],
                "attempts": _attempts(child),
            })  # fmt: skip
            written.append(index)
    listed = [
        (part, report)
        for part in plan.parts
        if (report := read_json(s3, plan.output_of(part).error)) is not None
    ]
    newer = _publish(s3, uri, plan.input_version, reports, parts_failed_report(plan, listed))
    if newer is not None:
        return log(IGNORED, job_id=array["jobId"], uri=uri, reason=SUPERSEDED, **newer.fields())
    return log(
        REPORTED,
        job_id=array["jobId"],
        uri=uri,
        report=reports.error,
        error=PARTS_FAILED,
        parts=[part.index for part, _ in listed],
        part_reports_written=written,
    )


def _what_batch_did(job: dict[str, Any]) -> str:
    if never_placed(job):
        return f"cancelled by AWS Batch after waiting RUNNABLE: {job.get('statusReason')}"
    return f"stopped by AWS Batch after {len(job['attempts'])} attempt(s): {_reasons(job)}"


def _failed_children(batch: Any, array_id: str) -> list[dict[str, Any]]:
    paginator = batch.get_paginator("list_jobs")
    ids = [
        summary["jobId"]
        for page in paginator.paginate(arrayJobId=array_id, jobStatus="FAILED")
        for summary in page["jobSummaryList"]
    ]
    return [
        job
        for start in range(0, len(ids), 100)
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]


def _attempts(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "reason": attempt.get("statusReason"),
            "container_reason": attempt.get("container", {}).get("reason"),
            "exit_code": attempt.get("container", {}).get("exitCode"),
            "log_stream": attempt.get("container", {}).get("logStreamName"),
        }
        for attempt in job.get("attempts", [])
    ]


def _reasons(job: dict[str, Any]) -> str:
    last = (job.get("attempts") or [{}])[-1]
    container = last.get("container", {})
    reason = container.get("reason") or last.get("statusReason") or job.get("statusReason")
    exit_code = container.get("exitCode")
    return f"{reason}" + (f" (exit code {exit_code})" if exit_code is not None else "")


# The reasons of the job queues' RUNNABLE time limits (infra/compute.py): no instance could
# take the job before the stage's runnable_timeout_minutes.
PLACEMENT_REASONS = ("CAPACITY:", "MISCONFIGURATION:")


def never_placed(job: dict[str, Any]) -> bool:
    """A job cancelled while RUNNABLE because no instance could run it."""
    return not job.get("attempts") and str(job.get("statusReason", "")).startswith(
        PLACEMENT_REASONS
    )


def hint_for(job: dict[str, Any]) -> str:
    reason = str(job.get("statusReason", ""))
    if never_placed(job) and reason.startswith("CAPACITY:"):
        return (
            "no instance of the queue's types was available (capacity, or the account's EC2 "
            "quota for them: check Service Quotas, e.g. 'Running On-Demand G and VT instances'); "
            "add instance types or raise the quota, then upload the file again"
        )
    if never_placed(job):
        return (
            "no instance the queue may start can run this job (its vCPUs, memory or GPU exceed "
            "the compute environment's instance types or max vCPUs): widen them in the stage "
            "settings, then upload the file again"
        )
    text = " ".join(
        str(a.get("container_reason") or "") + " " + str(a.get("reason") or "")
        for a in _attempts(job)
    ).lower()
    if "memory" in text or any(a["exit_code"] == 137 for a in _attempts(job)):
        return (
            "the job ran out of memory: raise the job definition's memory, or for a large "
            "file lower the stage's part_size_mb; then upload the file again"
        )
    if "timeout" in text or "duration exceeded" in text:
        return (
            "the job hit its attempt timeout: raise it in the stage settings, or for a large "
            "file lower part_size_mb; then upload the file again"
        )
    return f"see the job's log (`textbatch logs {job['jobId']}`); upload the file again to retry"
