"""A large file's three jobs, chained: split -> an array of predict-part children -> merge."""

from __future__ import annotations

import uuid
from typing import Any

from textbatch_contract import jobs
from textbatch_contract.events import WITHDRAWN

from textbatch_trigger.log import log
from textbatch_trigger.objects import UploadedObject
from textbatch_trigger.routing import Route
from textbatch_trigger.settings import TriggerSettings

MAX_ARRAY_SIZE = 10_000


def part_count(size: int, part_bytes: int) -> int:
    """Array children for a file: one per part_bytes, at least 2 and at most Batch's 10,000."""
    return min(MAX_ARRAY_SIZE, max(2, -(-size // part_bytes)))


def chain_names(name: str) -> tuple[str, str, str]:
    """The job names of a large file's split, array and merge jobs (`name`: the file's)."""
    return f"{name}-split", name, f"{name}-merge"


def submit_scaled(
    obj: UploadedObject,
    settings: TriggerSettings,
    route: Route,
    name: str,
    parameters: dict[str, str],
    *,
    batch: Any,
) -> dict[str, Any]:
    """A large file's three jobs, chained with dependsOn: split (CPU queue) -> an array job of
    predict-part children (the model's queue) -> merge (CPU queue). All carry the file's
    parameters, so every view of the file finds all three. If a later submission fails, the
    jobs already submitted are terminated, so the retried event starts a chain of its own and
    no orphan writes parts that nobody merges."""
    count = part_count(obj.size, settings.part_bytes)
    # a prefix of this chain's own: a chain submitted again (a retry after a partial one, a
    # forced resubmission) never shares parts with another, so no merge removes another's
    parts = jobs.parts_prefix(settings.results_location, f"{name}-{uuid.uuid4().hex[:8]}")
    output = parameters[jobs.OUTPUT.name]
    submitted: list[str] = []

    def submit(command: list[str], **job: Any) -> str:
        job_id = batch.submit_job(
            parameters=parameters, containerOverrides={"command": command}, **job
        )["jobId"]
        submitted.append(job_id)
        return job_id

    cpu = {"jobQueue": settings.cpu_job_queue, "jobDefinition": settings.cpu_job_definition}
    split_name, array_name, merge_name = chain_names(name)
    try:
        split = submit(
            jobs.SPLIT.argv(
                input=obj.uri, input_version=parameters[jobs.INPUT_VERSION.name], parts=parts,
                count=count, output=output,
            ),
            jobName=split_name, **cpu,
        )  # fmt: skip
        array = submit(
            jobs.PART.argv(model=route.model, parts=parts, output=output),
            jobName=array_name, jobQueue=route.queue, jobDefinition=route.definition,
            arrayProperties={"size": count}, dependsOn=[{"jobId": split}],
        )  # fmt: skip
        merge = submit(
            jobs.MERGE.argv(parts=parts, output=output),
            jobName=merge_name, dependsOn=[{"jobId": array}], **cpu,
        )  # fmt: skip
    except Exception as exc:
        for job_id in submitted:
            withdraw(batch, job_id, obj, f"{type(exc).__name__}: {exc}")
        raise
    return {
        "job_id": array,
        "split": {
            "parts": count,
            "part_bytes": settings.part_bytes,
            "split_job_id": split,
            "merge_job_id": merge,
            "parts_prefix": parts,
        },
    }


def withdraw(batch: Any, job_id: str, obj: UploadedObject, cause: str) -> None:
    reason = f"textbatch trigger: the file's other jobs could not be submitted ({cause})"
    try:
        batch.terminate_job(jobId=job_id, reason=reason[:1000])
    except Exception as exc:  # the failure being handled matters more; the log names the job
        log(WITHDRAWN, uri=obj.uri, job_id=job_id, reason=cause, error=f"{exc}")
        return
    log(WITHDRAWN, uri=obj.uri, job_id=job_id, reason=cause)
