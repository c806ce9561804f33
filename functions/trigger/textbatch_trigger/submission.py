"""Decide what an uploaded object needs and submit its predict job, once per revision."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textbatch_contract import commands, results_prefix, settings

from textbatch_trigger.idempotency import IdempotencyStore
from textbatch_trigger.log import log
from textbatch_trigger.objects import UploadedObject
from textbatch_trigger.routing import Route, choose_route

SUBMITTED, DUPLICATE, IGNORED, FAILED = "submitted", "duplicate", "ignored", "failed"
WITHDRAWN = "withdrawn"


PREDICT_QUEUES = ("auto", "gpu", "cpu")
MAX_ARRAY_SIZE = 10_000


@dataclass(frozen=True)
class TriggerSettings:
    gpu_job_queue: str
    gpu_job_definition: str
    cpu_job_queue: str
    cpu_job_definition: str
    predict_queue: str  # "auto": the model's manifest decides; "gpu" or "cpu": always that one
    results_location: str  # s3://bucket/prefix/ under which outputs mirror the input's folders
    model_location: str  # a model version, or a location holding models/latest.json
    idempotency_table: str
    split_threshold_bytes: int  # larger files are split -> predicted as an array -> merged
    part_bytes: int  # the size of one part (one array child)

    def __post_init__(self) -> None:
        if self.predict_queue not in PREDICT_QUEUES:
            raise RuntimeError(
                f"PREDICT_QUEUE is {self.predict_queue!r}; expected one of {PREDICT_QUEUES}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TriggerSettings:
        """The function's environment, as the CDK app sets it."""
        try:
            return cls.from_fields(settings.fields_from(env, settings.ENV_VARS))
        except KeyError as exc:
            raise RuntimeError(f"the trigger's environment lacks {exc.args[0]}") from exc

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str]) -> TriggerSettings:
        """A deployed stack's outputs (`textbatch submit`); KeyError names missing ones."""
        return cls.from_fields(settings.fields_from(outputs, settings.STACK_OUTPUTS))

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> TriggerSettings:
        typed: dict[str, Any] = dict(values)
        for field in ("split_threshold_bytes", "part_bytes"):
            typed[field] = int(typed[field])
        return cls(**typed)


@dataclass(frozen=True)
class Outcome:
    decision: str
    uri: str
    reason: str | None = None
    job_id: str | None = None
    job_name: str | None = None
    queue: str | None = None  # "gpu" or "cpu"


def ignore_reason(obj: UploadedObject, settings: TriggerSettings) -> str | None:
    """Why an object is not work for the predict job, or None when it is."""
    if obj.key.endswith("/"):
        return "folder marker"
    if not obj.key.lower().endswith(".csv"):
        return "not a .csv file"
    if obj.size == 0:
        return "empty object (0 bytes)"
    results = settings.results_location.removeprefix("s3://")
    if f"{obj.bucket}/{obj.key}".startswith(results.rstrip("/") + "/"):
        return "written by the pipeline (under the results location)"
    return None


def job_name_for(obj: UploadedObject) -> str:
    """A valid Batch job name (<= 128 of letters, digits, '-', '_') that starts with the file's
    stem, so `list-jobs --filters name=JOB_NAME,values=tb-claims*` finds it, and ends with a hash
    of bucket, key and revision, so that it is unique."""
    stem = posixpath.basename(obj.key)[: -len(".csv")]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:100] or "file"
    digest = hashlib.sha256(f"{obj.bucket}/{obj.key}#{obj.revision}".encode()).hexdigest()[:12]
    return f"tb-{readable}-{digest}"


def output_location(obj: UploadedObject, settings: TriggerSettings) -> str:
    return results_prefix(settings.results_location, obj.key)


def submit_object(
    obj: UploadedObject,
    settings: TriggerSettings,
    *,
    batch: Any,
    dynamodb: Any,
    s3: Any,
    force: bool = False,
) -> Outcome:
    """Submit one object's predict job unless it is ignored or already submitted, to the queue
    its model wants (see routing). A failing AWS call is logged and re-raised after the
    idempotency claim is released."""
    fields = {"uri": obj.uri, "key": obj.key, "version": obj.version_id, "etag": obj.etag}
    reason = ignore_reason(obj, settings)
    if reason:
        log(IGNORED, reason=reason, **fields)
        return Outcome(IGNORED, obj.uri, reason=reason)
    store = IdempotencyStore(settings.idempotency_table, dynamodb)
    claim_key = f"{obj.bucket}/{obj.key}#{obj.revision}"
    claim = store.claim(claim_key, uri=obj.uri, force=force)
    if not claim.acquired:
        reason = f"already {claim.status.lower() if claim.status else 'claimed'}"
        log(DUPLICATE, reason=reason, job_id=claim.job_id, **fields)
        return Outcome(DUPLICATE, obj.uri, reason=reason, job_id=claim.job_id)
    name = job_name_for(obj)
    scale: dict[str, Any] = {}
    try:
        route = choose_route(settings, s3)
        parameters = {
            "input": obj.uri,
            "output": output_location(obj, settings),
            "model": route.model,
        }
        if obj.size > settings.split_threshold_bytes:
            scale = submit_scaled(obj, settings, route, name, parameters, batch=batch)
            response = {"jobId": scale["job_id"]}
        else:
            response = batch.submit_job(
                jobName=name,
                jobQueue=route.queue,
                jobDefinition=route.definition,
                parameters=parameters,
            )
    except Exception as exc:
        store.release(claim_key)
        log(FAILED, reason=f"{type(exc).__name__}: {exc}", job_name=name, **fields)
        raise
    store.complete(claim_key, job_id=response["jobId"], job_name=name)
    log(
        SUBMITTED,
        job_id=response["jobId"],
        job_name=name,
        queue=route.kind,
        queue_reason=route.reason,
        model=route.model,
        split=scale.get("split"),
        forced=force or None,
        **fields,
    )
    return Outcome(SUBMITTED, obj.uri, job_id=response["jobId"], job_name=name, queue=route.kind)


def part_count(size: int, part_bytes: int) -> int:
    """Array children for a file: one per part_bytes, at least 2 and at most Batch's 10,000."""
    return min(MAX_ARRAY_SIZE, max(2, -(-size // part_bytes)))


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
    parts = commands.parts_prefix(settings.results_location, name)
    output = parameters["output"]
    submitted: list[str] = []

    def submit(command: list[str], **job: Any) -> str:
        job_id = batch.submit_job(
            parameters=parameters, containerOverrides={"command": command}, **job
        )["jobId"]
        submitted.append(job_id)
        return job_id

    cpu = {"jobQueue": settings.cpu_job_queue, "jobDefinition": settings.cpu_job_definition}
    try:
        split = submit(
            commands.split_command(input_uri=obj.uri, parts=parts, count=count, output=output),
            jobName=f"{name}-split", **cpu,
        )  # fmt: skip
        array = submit(
            commands.part_command(model=route.model, parts=parts, output=output),
            jobName=name, jobQueue=route.queue, jobDefinition=route.definition,
            arrayProperties={"size": count}, dependsOn=[{"jobId": split}],
        )  # fmt: skip
        merge = submit(
            commands.merge_command(parts=parts, output=output),
            jobName=f"{name}-merge", dependsOn=[{"jobId": array}], **cpu,
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
