"""Training as a Batch job on a deployed (or the local) stage's GPU queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textbatch_contract import jobs
from textbatch_contract import stack as stack_outputs
from textbatch_contract.settings import STACK_OUTPUTS

from textbatch.cloud.deployment import Deployment
from textbatch.cloud.follow import JobUpdate, follow
from textbatch.io.storage import Storage, basename, is_s3
from textbatch.jobs.render import describe_training_line


def stage_input(path: str, bucket: str, storage: Storage) -> str:
    """An s3:// URI as is; a local file is uploaded to `bucket` first."""
    if is_s3(path):
        return path
    uri = f"s3://{bucket}/{basename(path)}"
    storage.upload(Path(path), uri)
    return uri


def train_queue(deployment: Deployment, config_text: str, *, source: str) -> tuple[str, str, str]:
    """(kind, queue, job definition) for a config: the stage's train_queue, or by its family
    where that is `auto` (a family that trains with torch: the GPU queue and image)."""
    from textbatch.families import family, parse_config

    setting = deployment.outputs.get(stack_outputs.TRAIN_QUEUE, "auto")
    kind = setting
    if setting == "auto":
        torch = family(parse_config(config_text, source=source).network).trains_with_torch
        kind = "gpu" if torch else "cpu"
    definition = {
        "gpu": stack_outputs.TRAIN_JOB_DEFINITION,
        "cpu": stack_outputs.TRAIN_CPU_JOB_DEFINITION,
    }[kind]
    queue = deployment.output(STACK_OUTPUTS[f"{kind}_job_queue"])
    return kind, queue, deployment.output(definition)


def submit_training(
    deployment: Deployment,
    *,
    config: str,
    data: str,
    out: str | None,
    batch: Any,
    promote: str | None = None,
    storage: Storage,
) -> dict[str, Any]:
    """The train job on the queue its config's family wants (train_queue); returns SubmitJob's
    reply with `queue` (gpu or cpu) added."""
    _, queue, definition = train_queue(deployment, storage.read_text(config), source=config)
    parameters = jobs.TRAIN.submit_parameters(  # `out` left out: the definition's default
        config=stage_input(config, deployment.output(stack_outputs.CONFIG_BUCKET), storage),
        data=stage_input(data, deployment.output(stack_outputs.TRAINING_BUCKET), storage),
        out=out or None,
        promote=promote,
    )
    reply = batch.submit_job(
        jobName=f"tb-train-{basename(parameters[jobs.DATA.name]).rsplit('.', 1)[0]}"[:100].replace(
            ".", "-"
        ),
        jobQueue=queue,
        jobDefinition=definition,
        parameters=parameters,
    )
    return {**reply, "queue": queue}


def follow_training(
    deployment: Deployment, job_id: str, *, batch: Any, logs: Any, show: Callable[[str], None]
) -> dict[str, Any]:
    job: dict[str, Any] = {}
    update: JobUpdate
    for update in follow(
        batch, logs, job_id, log_group=deployment.output(stack_outputs.JOB_LOG_GROUP)
    ):
        job = update.job
        if update.status:
            reason = (
                f" ({job['statusReason']})"
                if update.status == "FAILED" and job.get("statusReason")
                else ""
            )
            show(f"job {job_id}: {update.status}{reason}")
        elif update.line and (text := describe_training_line(update.line)):
            show(f"  {text}")
    return job
