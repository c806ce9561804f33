"""The local cloud's jobs in their Batch images (CI always runs them so: `make images`, then
`local up --runtime container`): which image each job ran in, what the commands say of it, and
what only a container shows, such as a job the kernel kills at its memory limit."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.e2e.conftest import LocalCloud
from textbatch.local import images
from textbatch.local.images import IMAGES
from textbatch.local.runtime import OUT_OF_MEMORY, RUNTIME_OUTPUT
from textbatch.sample_data import BUNDLED_DIR


def in_containers(cloud: LocalCloud) -> bool:
    return cloud.state["outputs"][RUNTIME_OUTPUT].startswith("containers")


def test_jobs_and_status_say_how_the_local_cloud_runs_jobs(cloud: LocalCloud, model_version):
    jobs = cloud.textbatch("jobs", "--since", "1h")
    assert jobs.returncode == 0, jobs.stderr
    said = jobs.stdout.splitlines()[-1]
    assert said == f"local cloud: jobs run as {cloud.state['outputs'][RUNTIME_OUTPUT]}"
    [train] = [j for j in cloud.jobs("") if j["container"]["command"][0] == "train"]
    [definition] = cloud.client("batch").describe_job_definitions(
        jobDefinitions=[train["jobDefinition"]]
    )["jobDefinitions"]
    # training needs torch: the GPU image, as its job definition's tag says
    assert definition["containerProperties"]["image"] == IMAGES["gpu"]
    assert definition["containerProperties"]["readonlyRootFilesystem"] is True
    status = cloud.textbatch("status", train["jobId"])
    assert said in status.stdout


def test_a_job_killed_at_its_memory_limit_gets_the_out_of_memory_hint(
    cloud: LocalCloud, model_version
) -> None:
    if not in_containers(cloud):
        pytest.skip(f"jobs run as {cloud.state['outputs'][RUNTIME_OUTPUT]}: no memory limit")
    s3 = cloud.client("s3")
    # a bucket without the upload trigger: only this job reads the file
    s3.put_object(
        Bucket=cloud.bucket("training"),
        Key="oom/claims.csv",
        Body=(BUNDLED_DIR / "warranty_predict.csv").read_bytes(),
    )
    batch = cloud.client("batch")
    job_id = batch.submit_job(
        jobName="tb-oom",
        jobQueue="textbatch-local-gpu",
        jobDefinition="textbatch-local-predict",
        parameters={
            "model": f"s3://{cloud.bucket('models')}/models/{model_version}/",
            "input": f"s3://{cloud.bucket('training')}/oom/claims.csv",
            "input_version": "latest",
            "output": f"s3://{cloud.bucket('results')}/oom/",
        },
        # far below what Python and torch take to start: the kernel kills the container
        containerOverrides={"resourceRequirements": [{"type": "MEMORY", "value": "64"}]},
    )["jobId"]
    job = cloud.wait_for_job(job_id, timeout=120)
    assert job["status"] == "FAILED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [137]  # no retry: EXIT rule
    assert job["attempts"][0]["container"]["reason"] == OUT_OF_MEMORY
    deadline = time.monotonic() + 60
    while True:  # the failure reporter writes the file's report from Batch's description
        try:
            body = s3.get_object(Bucket=cloud.bucket("results"), Key="oom/claims_error.json")
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "no error report for the killed job"
            time.sleep(0.5)
    report = json.loads(body["Body"].read())
    assert report["error"] == "JobFailed"
    assert "ran out of memory" in report["hint"]
    assert OUT_OF_MEMORY in report["message"]
    engine = images.engine()
    assert engine is not None
    left = subprocess.run(
        [*engine, "ps", "--all", "--quiet", "--filter", f"name=textbatch-{job_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.strip() == ""  # the attempt's container is removed with its volumes
