"""Decide what an uploaded object needs and submit its predict job, once per revision.

The settings are textbatch_trigger.settings'; a large file's chain of jobs is
textbatch_trigger.chain's."""

from __future__ import annotations

import hashlib
import posixpath
import re
import time
from dataclasses import dataclass
from typing import Any

from textbatch_contract import jobs, results_prefix
from textbatch_contract.claims import claim_key
from textbatch_contract.events import ADOPTED, CLAIMED, DUPLICATE, IGNORED, SUBMITTED
from textbatch_contract.events import NOT_SUBMITTED as FAILED

from textbatch_trigger.chain import chain_names, submit_scaled, withdraw
from textbatch_trigger.idempotency import IN_PROGRESS, IdempotencyStore
from textbatch_trigger.log import log
from textbatch_trigger.objects import UploadedObject
from textbatch_trigger.routing import choose_route
from textbatch_trigger.settings import TriggerSettings


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


def is_cluster(obj: UploadedObject, settings: TriggerSettings) -> bool:
    """An upload under the cluster prefix: the cluster job, not a predict job."""
    return obj.key.startswith(settings.cluster_prefix)


def is_scaled(obj: UploadedObject, settings: TriggerSettings) -> bool:
    """A predict upload above the split threshold: a chain of three jobs."""
    return not is_cluster(obj, settings) and (obj.size or 0) > settings.split_threshold_bytes


def job_name_for(obj: UploadedObject) -> str:
    """A valid Batch job name (<= 128 of letters, digits, '-', '_') that starts with the file's
    stem, so `list-jobs --filters name=JOB_NAME,values=tb-claims*` finds it, and ends with a hash
    of bucket, key and revision, so that it is unique."""
    stem = posixpath.basename(obj.key)[: -len(".csv")]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:100] or "file"
    digest = hashlib.sha256(claim_key(obj.bucket, obj.key, obj.revision).encode()).hexdigest()
    digest = digest[:12]
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
    key = claim_key(obj.bucket, obj.key, obj.revision)
    claim = store.claim(key, uri=obj.uri, force=force)
    if not claim.acquired and claim.status == IN_PROGRESS:
        # its holder may be submitting, or may have died: fail, so that Lambda retries after
        # the lease (just above the function's timeout) and a dead holder's claim is taken over
        wait = max(0, (claim.lease_until or 0) - int(time.time()))
        reason = f"another invocation is submitting it (its claim holds for {wait} s more)"
        log(CLAIMED, reason=reason, **fields)
        return Outcome(FAILED, obj.uri, reason=reason)
    if not claim.acquired:
        reason = f"already {claim.status.lower() if claim.status else 'claimed'}"
        log(DUPLICATE, reason=reason, job_id=claim.job_id, **fields)
        return Outcome(DUPLICATE, obj.uri, reason=reason, job_id=claim.job_id)
    name = job_name_for(obj)
    if claim.taken_over and not force:
        # the claim's holder died: it may have submitted the job and not recorded it
        adopted = _adopt(obj, settings, name, batch)
        if adopted is not None:
            store.complete(key, job_id=adopted, job_name=name)
            log(ADOPTED, job_id=adopted, job_name=name, **fields)
            return Outcome(ADOPTED, obj.uri, job_id=adopted, job_name=name)
    try:
        if is_cluster(obj, settings):
            job_id, queue, details = _submit_cluster(obj, settings, name, batch)
        else:
            job_id, queue, details = _submit_predict(obj, settings, name, batch, s3)
    except Exception as exc:
        store.release(key)
        log(FAILED, reason=f"{type(exc).__name__}: {exc}", job_name=name, **fields)
        raise
    try:
        store.complete(key, job_id=job_id, job_name=name)
    except Exception as exc:
        # the job is submitted: the claim stays, and the retry after its lease adopts the job
        reason = f"submitted job {job_id} but could not record it ({type(exc).__name__}: {exc})"
        log(FAILED, reason=reason, job_id=job_id, job_name=name, **fields)
        raise
    log(
        SUBMITTED,
        job_id=job_id,
        job_name=name,
        queue=queue,
        **details,
        forced=force or None,
        **fields,
    )
    return Outcome(SUBMITTED, obj.uri, job_id=job_id, job_name=name, queue=queue)


def _adopt(obj: UploadedObject, settings: TriggerSettings, name: str, batch: Any) -> str | None:
    """The job an earlier invocation submitted for this revision before it died, found by its
    deterministic name on either queue: a single job, or a large file's whole chain (its array
    job's id). A chain only partly submitted is withdrawn, and None returned: a new one starts."""
    found: dict[str, list[dict[str, Any]]] = {}
    for queue in dict.fromkeys((settings.gpu_job_queue, settings.cpu_job_queue)):
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [f"{name}*"]}]
        )
        for page in pages:
            for job in page["jobSummaryList"]:
                if ":" not in job["jobId"]:  # an array's children go with their array
                    found.setdefault(job["jobName"], []).append(job)
    wanted = chain_names(name) if is_scaled(obj, settings) else (name,)
    if all(found.get(n) for n in wanted):
        newest = max(found[name], key=lambda job: job.get("createdAt", 0))
        return newest["jobId"]
    for job in (job for n in wanted for job in found.get(n, [])):
        withdraw(batch, job["jobId"], obj, "its chain was only partly submitted before a retry")
    return None


def _submit_predict(
    obj: UploadedObject, settings: TriggerSettings, name: str, batch: Any, s3: Any
) -> tuple[str, str, dict[str, Any]]:
    """The predict job (or a large file's chain) on the queue its model wants: the job id,
    the queue's kind and what the decision's log line adds."""
    route = choose_route(settings, s3)
    parameters = jobs.PREDICT.submit_parameters(
        model=route.model,
        input=obj.uri,
        # the revision this event is about, not whatever the key holds when the job runs
        input_version=obj.version_id or jobs.LATEST,
        output=output_location(obj, settings),
    )
    scale: dict[str, Any] = {}
    if is_scaled(obj, settings):
        scale = submit_scaled(obj, settings, route, name, parameters, batch=batch)
        job_id = scale["job_id"]
    else:
        job_id = batch.submit_job(
            jobName=name,
            jobQueue=route.queue,
            jobDefinition=route.definition,
            parameters=parameters,
        )["jobId"]
    details = {"queue_reason": route.reason, "model": route.model, "split": scale.get("split")}
    return job_id, route.kind, details


def _submit_cluster(
    obj: UploadedObject, settings: TriggerSettings, name: str, batch: Any
) -> tuple[str, str, dict[str, Any]]:
    """An upload under the cluster prefix: one cluster job on the CPU queue, whatever its size
    (the job streams the file)."""
    values = {
        jobs.INPUT.name: obj.uri,
        jobs.INPUT_VERSION.name: obj.version_id or jobs.LATEST,
        jobs.OUTPUT.name: output_location(obj, settings),
    }
    job_id = batch.submit_job(
        jobName=name,
        jobQueue=settings.cpu_job_queue,
        jobDefinition=settings.cpu_job_definition,  # the predict job definition, for the file
        parameters=jobs.PREDICT.submit_parameters(**values),
        containerOverrides={"command": jobs.CLUSTER.argv(**values)},
    )["jobId"]
    reason = f"under the cluster prefix {settings.cluster_prefix!r}: the cluster job"
    return job_id, "cpu", {"queue_reason": reason, "step": jobs.CLUSTER.name}
