from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from textbatch_trigger.settings import TriggerSettings

from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.train import TrainRequest, TrainResult, run_train
from textbatch.sample_data import BUNDLED_DIR

REGION = "us-east-1"

# Small enough to train in seconds on two cores, big enough to learn the sample data.
SMALL_CONFIG = {
    "n_classes": 5,
    "num_epoch": 4,
    "seq_len": 48,
    "vocab_size": 400,
    "batch_size": 32,
    "embed_size": 24,
    "hidden_size": 16,
    "kernel_size": 3,
    "learning_rate": 0.01,
    "use_spacy_pretrained": False,
    "train_log_interval": 5,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server process-local thread: boto3 talks HTTP to it like to AWS."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Standard AWS configuration pointing at the moto server (for code that builds clients)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


@pytest.fixture
def s3(aws_env: str):
    return boto3.client("s3", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def bucket(s3) -> str:
    name = f"tb-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def storage(s3) -> Storage:
    return Storage(s3)


@pytest.fixture(scope="session")
def sample_train() -> Path:
    return BUNDLED_DIR / "warranty_train.csv"


@pytest.fixture(scope="session")
def sample_predict() -> Path:
    return BUNDLED_DIR / "warranty_predict.csv"


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory, sample_train: Path) -> dict[str, Any]:
    """A tiny random BERT-style encoder made from the sample claims' texts, and the settings
    that point the encoder family at it (pinned by its hash)."""
    import csv

    from tests.encoders import write_tiny_encoder

    with open(sample_train, encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    directory = tmp_path_factory.mktemp("tiny-encoder")
    digest = write_tiny_encoder(directory, texts)
    return {
        "architecture": "encoder",
        "encoder": str(directory),
        "encoder_sha256": digest,
        "seq_len": 48,
        "head_tokens": 12,
        "optimizer": "adamw",
        "learning_rate": 0.001,
        "batch_size": 16,
    }


def write_config(directory: Path, **overrides: object) -> Path:
    path = directory / "config.json"
    path.write_text(json.dumps({**SMALL_CONFIG, **overrides}))
    return path


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, sample_train: Path
) -> tuple[Path, TrainResult]:
    """One small CNN trained on the bundled claims, shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("trained")
    out = root / "store"
    with open(root / "train.log", "w") as log:
        result = run_train(
            TrainRequest(config=str(write_config(root)), data=str(sample_train), out=str(out)),
            log=EventLog(log, job="train"),
        )
    return out, result


@pytest.fixture
def trigger_cloud(aws_env: str):
    """GPU and CPU Batch queues and predict job definitions and an idempotency table on the
    moto server. No model is published: jobs go to the CPU queue unless a test publishes one."""
    requests.post(
        f"{aws_env}/moto-api/config",
        json={"batch": {"use_docker": False}, "lambda": {"use_docker": False}},
        timeout=10,
    )
    batch = boto3.client("batch", endpoint_url=aws_env, region_name=REGION)
    dynamodb = boto3.client("dynamodb", endpoint_url=aws_env, region_name=REGION)
    suffix = uuid.uuid4().hex[:8]
    iam = boto3.client("iam", endpoint_url=aws_env, region_name=REGION)
    role = iam.create_role(RoleName=f"batch-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"ce-{suffix}", type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    queues = {
        kind: batch.create_job_queue(
            jobQueueName=f"{kind}-{suffix}",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[
                {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
            ],
        )["jobQueueArn"]
        for kind in ("gpu", "cpu")
    }
    for name in (f"predict-{suffix}", f"predict-cpu-{suffix}"):
        batch.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={
                "image": "textbatch",
                "vcpus": 1,
                "memory": 512,
                "command": ["predict"],
            },
        )
    table = f"submissions-{suffix}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    settings = TriggerSettings(
        gpu_job_queue=queues["gpu"],
        gpu_job_definition=f"predict-{suffix}",
        cpu_job_queue=queues["cpu"],
        cpu_job_definition=f"predict-cpu-{suffix}",
        predict_queue="auto",
        results_location="s3://results-bucket/",
        model_location=f"s3://models-{suffix}/",
        split_threshold_bytes=1000,
        part_bytes=400,
        cluster_prefix="cluster/",
        idempotency_table=table,
    )
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name=REGION)
    return settings, batch, dynamodb, s3


@dataclass(frozen=True)
class FailingBatch:
    """moto's Batch failing every job at once (its simple Batch, MOTO_SIMPLE_BATCH_FAIL_AFTER=0),
    a results bucket, and separate clients for the code under test (so that its calls, and
    only its, can be recorded)."""

    settings: TriggerSettings
    batch: Any  # the test's own
    s3: Any
    bucket: str
    clients: dict[str, Any]  # batch and s3 for the code under test


@pytest.fixture
def failing_batch(trigger_cloud, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> FailingBatch:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    settings, batch, _, s3 = trigger_cloud
    bucket = f"results-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    clients = {
        name: boto3.client(name, endpoint_url=aws_env, region_name=REGION)
        for name in ("batch", "s3")
    }
    return FailingBatch(settings, batch, s3, bucket, clients)
