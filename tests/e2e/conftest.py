"""One local cloud for the session: on the LocalStack at $TEXTBATCH_E2E_ENDPOINT when set (as
`make test` does), else on the embedded moto server. Everything goes through `textbatch` and
the tests' own clients: `localstack-client` for the services LocalStack serves, plain boto3 for
those the local cloud gives to moto (Batch, DynamoDB: their own AWS_ENDPOINT_URL_<SERVICE>),
and for all of them on the embedded moto server."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from localstack_client.session import Session
from textbatch_contract.calls import CALL_LOG_ENV

from textbatch.cloud.history import describe, job_summaries
from textbatch.sample_data import BUNDLED_DIR

SMALL_MODEL = {
    "n_classes": 5,
    "num_epoch": 3,
    "seq_len": 60,
    "vocab_size": 2000,
    "embed_size": 64,
    "kernel_size": 3,
    "use_spacy_pretrained": False,
}


@dataclass
class LocalCloud:
    env: dict[str, str]
    state: dict[str, Any]  # the local cloud's own description (cloud.json)

    @property
    def home(self) -> Path:
        """The local cloud's state directory (TEXTBATCH_LOCAL_HOME)."""
        return Path(self.env["TEXTBATCH_LOCAL_HOME"])

    def client(self, service: str) -> Any:
        own = self.env.get(f"AWS_ENDPOINT_URL_{service.upper()}")
        if own is None and os.environ.get("TEXTBATCH_E2E_ENDPOINT"):
            return Session(
                aws_access_key_id="test",
                aws_secret_access_key="test",
                region_name=self.env["AWS_DEFAULT_REGION"],
                localstack_host=urlsplit(self.env["AWS_ENDPOINT_URL"]).netloc,
            ).client(service)
        return boto3.client(
            service,
            endpoint_url=own or self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def bucket(self, role: str) -> str:
        return self.env[f"TEXTBATCH_{role.upper()}_BUCKET"]

    def textbatch(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "textbatch.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def train(
        self, config: Path, *options: str, data: Path = BUNDLED_DIR / "warranty_train.csv"
    ) -> subprocess.CompletedProcess:
        """`textbatch train --submit --wait` on the bundled claims: a Batch train job here."""
        return self.textbatch(
            "train", "--submit", "--wait", "--config", str(config), "--data", str(data), *options
        )

    def wait_for_result(
        self, key: str, timeout: float = 120, *, version: str | None = None
    ) -> dict[str, Any]:
        """The summary or error report of an uploaded key (of its revision `version`, if given)
        once the pipeline has written it."""
        s3 = self.client("s3")
        stem = key[: -len(".csv")]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for suffix in ("_output.json", "_error.json"):
                try:
                    body = s3.get_object(Bucket=self.bucket("results"), Key=stem + suffix)[
                        "Body"
                    ].read()
                except s3.exceptions.NoSuchKey:
                    continue
                document = json.loads(body)
                if version is None or document.get("input_version") == version:
                    return {"kind": suffix, **document}
            time.sleep(0.5)
        raise TimeoutError(f"no result for {key} after {timeout} s")

    def jobs(self, name_prefix: str = "tb-") -> list[dict[str, Any]]:
        batch = self.client("batch")
        summaries = job_summaries(batch, ["textbatch-local-gpu", "textbatch-local-cpu"])
        return describe(
            batch, [j["jobId"] for j in summaries if j["jobName"].startswith(name_prefix)]
        )

    def job_for(self, key: str) -> dict[str, Any]:
        uri = f"s3://{self.bucket('predict')}/{key}"
        matches = [j for j in self.jobs() if j["parameters"].get("input") == uri]
        assert len(matches) == 1, f"{len(matches)} jobs for {key}"
        return matches[0]

    def wait_for_job(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        batch = self.client("batch")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
            if job["status"] in ("SUCCEEDED", "FAILED"):
                return job
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} not finished after {timeout} s")

    def wait_until_working(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        """Once the job runs and has logged its first line: its process is past its start,
        its SIGTERM handler set (a signal before that ends it without a word, as in Batch)."""
        batch = self.client("batch")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
            assert job["status"] not in ("SUCCEEDED", "FAILED"), job["status"]
            if job["status"] == "RUNNING" and any(
                line.startswith("{") for line in self.job_log(job)
            ):
                return job
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} not working after {timeout} s")

    def job_log(self, job: dict[str, Any]) -> list[str]:
        from textbatch.cloud.follow import job_lines

        return job_lines(self.client("logs"), job, log_group="/aws/batch/textbatch-local-jobs")


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> LocalCloud:
    home = tmp_path_factory.mktemp("local-cloud")
    env = {**os.environ, "TEXTBATCH_LOCAL_HOME": str(home / "local")}
    for key in [k for k in env if k.startswith("AWS_")]:
        del env[key]
    # every AWS call of the trigger, the reporter and the jobs, for test_permissions.py
    calls = home / "calls"
    calls.mkdir()
    calls.chmod(0o777)  # the jobs' containers run as a user of their own
    env[CALL_LOG_ENV] = str(calls)
    # CI builds the images (`make images`) and runs every job in its image; elsewhere in them
    # when an engine and current images are here, else as processes (`local up` says which)
    up = ["local", "up", "--runtime", "container" if os.environ.get("CI") else "auto"]
    if os.environ.get("TEXTBATCH_E2E_ENDPOINT"):
        up += ["--endpoint", os.environ["TEXTBATCH_E2E_ENDPOINT"]]
    started = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", *up],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    exports = subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "local", "env"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0]
    yield LocalCloud(env, json.loads((home / "local" / "cloud.json").read_text()))
    subprocess.run(
        [sys.executable, "-m", "textbatch.cli.main", "local", "down"], env=env, timeout=60
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The permission test reads every call the others made: it runs last."""
    last = [item for item in items if item.get_closest_marker("after_e2e")]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def model_version(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model trained by a Batch train job in the local cloud, published as models/latest.json."""
    config = tmp_path_factory.mktemp("config") / "config.json"
    config.write_text(json.dumps(SMALL_MODEL))
    result = cloud.train(config)
    assert result.returncode == 0, result.stdout + result.stderr
    latest = cloud.client("s3").get_object(Bucket=cloud.bucket("models"), Key="models/latest.json")
    return json.loads(latest["Body"].read())["version"]


def upload(cloud: LocalCloud, key: str, body: bytes | Path) -> None:
    data = body.read_bytes() if isinstance(body, Path) else body
    cloud.client("s3").put_object(Bucket=cloud.bucket("predict"), Key=key, Body=data)
