"""The clients of the commands that look at a deployed (or the local) stage (their options:
textbatch.cli.options.add_cloud_options)."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Any

from textbatch_contract import client_config

from textbatch.cloud.deployment import Deployment
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
            print(f"local cloud: jobs run as {self.deployment.outputs[RUNTIME_OUTPUT]}")


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
