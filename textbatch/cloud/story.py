"""A file's whole story: the trigger's decisions, its jobs' states and attempts, its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textbatch_contract import claims, events, jobs
from textbatch_contract import stack as stack_outputs
from textbatch_contract.documents import of_revision
from textbatch_contract.settings import STACK_OUTPUTS

from textbatch.cloud.deployment import Deployment
from textbatch.cloud.history import JobRecord, describe, record
from textbatch.cloud.scaled import ScaledRun, assemble, is_array
from textbatch.errors import TextbatchError
from textbatch.io.storage import S3Uri, Storage


class NotFoundError(TextbatchError):
    """No job or file matches what was asked for."""


@dataclass
class Story:
    uri: str | None
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the trigger's log lines
    jobs: list[JobRecord] = field(default_factory=list)  # oldest first
    summary: dict[str, Any] | None = None  # the newest revision's, if it has one
    error: dict[str, Any] | None = None  # the newest revision's, if it has one
    earlier: dict[str, Any] | None = None  # a summary or report of an earlier revision
    scaled: ScaledRun | None = None  # the newest split -> parts -> merge run of a large file


def trigger_decisions(logs: Any, log_group: str, uri: str) -> list[dict[str, Any]]:
    """The trigger's JSON log lines about `uri`, oldest first."""
    decisions = []
    kwargs: dict[str, Any] = {
        "logGroupName": log_group,
        "filterPattern": f'"{S3Uri.parse(uri).key}"',
    }
    try:
        pages = logs.get_paginator("filter_log_events").paginate(**kwargs)
        found = [e for page in pages for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    for event in sorted(found, key=lambda e: e["timestamp"]):
        line = events.parse(event["message"])
        if line is not None and line.get(events.DECISION) and line.get("uri") == uri:
            decisions.append(line)
    return decisions


def jobs_for_file(deployment: Deployment, uri: str, *, batch: Any, dynamodb: Any) -> list[str]:
    """Job ids the trigger recorded for any revision of `uri` (the idempotency table)."""
    items = []
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(
        TableName=deployment.output(STACK_OUTPUTS["idempotency_table"]),
        FilterExpression="begins_with(#key, :prefix)",
        ExpressionAttributeNames={"#key": claims.KEY},
        ExpressionAttributeValues={":prefix": {"S": claims.file_prefix(uri)}},
    ):
        items += page["Items"]
    return [item[claims.JOB_ID]["S"] for item in items if claims.JOB_ID in item]


def story_of(
    target: str, deployment: Deployment, *, batch: Any, logs: Any, dynamodb: Any, storage: Storage
) -> Story:
    """`target` is an s3:// URI of an uploaded file or a job id."""
    log_group = deployment.output(stack_outputs.JOB_LOG_GROUP)
    if target.startswith("s3://"):
        uri = target
        ids = jobs_for_file(deployment, uri, batch=batch, dynamodb=dynamodb)
    else:
        found = describe(batch, [target])
        if not found:
            raise NotFoundError(f"no job {target}", hint="list recent jobs with `textbatch jobs`")
        uri = jobs.value_of(found[0], jobs.INPUT.name)
        ids = [target]
    story = Story(uri=uri)
    if uri:
        story.decisions = trigger_decisions(
            logs, deployment.output(stack_outputs.TRIGGER_LOG_GROUP), uri
        )
        for decision in story.decisions:  # a large file's split and merge jobs, too
            scaled = decision.get("split") or {}
            for job_id in (
                decision.get("job_id"),
                scaled.get("split_job_id"),
                scaled.get("merge_job_id"),
            ):
                if job_id and job_id not in ids:
                    ids.append(job_id)
    described = describe(batch, ids)
    story.jobs = sorted(
        (record(j, logs=logs, log_group=log_group, queue_names={}) for j in described),
        key=lambda r: r.created,
    )
    if not story.jobs and not story.decisions:
        raise NotFoundError(
            f"nothing is known about {target}",
            hint="check the bucket and key; the trigger ignores keys not ending in .csv",
        )
    arrays = [job for job in story.jobs if is_array(job)]
    if arrays:
        story.scaled = assemble(
            arrays[-1],
            story.jobs,
            batch=batch,
            logs=logs,
            log_group=log_group,
            storage=storage,
            every_child=True,
        )
    # the newest revision's job: the key's current version, whatever order the jobs ran in
    current = current_revision(storage, uri) if uri else None
    with_plans = [job for job in story.jobs if job.plan]
    latest = next(
        (j for j in reversed(with_plans) if _version(j) == current),
        with_plans[-1] if with_plans else None,
    )
    if latest and latest.plan:
        version = jobs.value_of(latest.raw, jobs.INPUT_VERSION.name)
        summary = storage.read_json_or_none(latest.plan.summary)
        error = storage.read_json_or_none(latest.plan.error)
        story.summary = summary if of_revision(summary, version) else None
        story.error = error if of_revision(error, version) else None
        story.earlier = next(
            (d for d in (summary, error) if d is not None and not of_revision(d, version)), None
        )
    return story


def _version(job: JobRecord) -> str | None:
    return jobs.value_of(job.raw, jobs.INPUT_VERSION.name)


def current_revision(storage: Storage, uri: str) -> str | None:
    """The uploaded key's current version id; None where it cannot be told (a local file, no
    versioning, no permission, a deleted key)."""
    if not uri.startswith("s3://"):
        return None
    try:
        return storage.head(uri).get("VersionId")
    except TextbatchError:
        return None
