"""The clients of the commands that look at a deployed (or the local) stage (their options:
textbatch.cli.options.add_cloud_options)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from textbatch_contract import client_config

from textbatch.cloud.deployment import Deployment
from textbatch.cloud.history import JobRecord
from textbatch.cloud.scaled import ScaledRun
from textbatch.cloud.story import Story, story_of
from textbatch.io.storage import Storage
from textbatch.local.runtime import RUNTIME_OUTPUT


@dataclass(frozen=True)
class Connection:
    deployment: Deployment
    batch: Any
    logs: Any
    dynamodb: Any
    storage: Storage  # S3, through this connection's session
    session: Any  # boto3.Session: the stage's profile, region and endpoint

    def story(self, target: str) -> Story:
        """A file's (s3:// URI) or a job's (id) story on this connection's stage."""
        return story_of(
            target,
            self.deployment,
            batch=self.batch,
            logs=self.logs,
            dynamodb=self.dynamodb,
            storage=self.storage,
        )

    def print_runtime(self) -> None:
        """The local cloud says how its jobs run (in their images, or as host processes)."""
        if RUNTIME_OUTPUT in self.deployment.outputs:
            print(
                f"local cloud: jobs run as {self.deployment.outputs[RUNTIME_OUTPUT]}",
                file=sys.stderr,
            )


def connect(args: argparse.Namespace) -> Connection:
    import boto3

    if args.endpoint:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    from botocore.config import Config

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    config = Config(**client_config(in_lambda=False))

    def client(name: str) -> Any:
        return session.client(name, config=config)

    deployment = Deployment.find(args.stage, client("cloudformation"))
    return Connection(
        deployment=deployment,
        batch=client("batch"),
        logs=client("logs"),
        dynamodb=client("dynamodb"),
        storage=Storage(client("s3")),
        session=session,
    )


def clock(epoch: float | None) -> str:
    return "-" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


def span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def key_of(uri: str | None) -> str:
    return "-" if not uri else uri.removeprefix("s3://").split("/", 1)[-1]


def iso(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC (the log lines' `time` form), for --json."""
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def job_document(job: JobRecord) -> dict[str, Any]:
    """A job as --json prints it (the same fields as the tables, times in ISO 8601 UTC)."""
    return {
        "job_id": job.job_id,
        "name": job.name,
        "kind": job.kind,
        "step": job.step,
        "queue": job.queue,
        "status": job.status,
        "status_reason": job.status_reason,
        "attempts": [
            {
                "started": iso(a["startedAt"] / 1000) if a.get("startedAt") else None,
                "exit_code": a.get("container", {}).get("exitCode"),
                "reason": a.get("statusReason"),
                "log_stream": a.get("container", {}).get("logStreamName"),
            }
            for a in job.raw.get("attempts", [])
        ],
        "created": iso(job.created),
        "started": iso(job.started),
        "stopped": iso(job.stopped),
        "seconds": None if job.duration is None else round(job.duration, 1),
        "input": job.input,
        "output": job.output,
        "rows_done": job.rows_done,
        "superseded_by": job.superseded_by,
    }


def run_document(run: ScaledRun) -> dict[str, Any]:
    """A large file's split -> parts -> merge run as one, for --json."""
    progress = run.progress
    return {
        "status": run.status,
        "state": run.state,
        "input": run.array.input,
        "output": run.array.output,
        "parts": progress.size,
        "parts_by_state": progress.states,
        "rows_done": progress.rows_done,
        "rows_total": progress.rows_total,
        "percent": None if progress.percent is None else round(progress.percent, 1),
        "seconds": None if run.duration is None else round(run.duration, 1),
        "jobs": [job_document(step) for step in run.steps],
        "children": [job_document(child) for child in progress.children],
    }


def print_json(document: Any) -> None:
    """One JSON document on stdout (what --json prints; nothing else goes to stdout)."""
    print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
