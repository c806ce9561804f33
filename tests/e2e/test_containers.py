"""The local cloud's jobs in their Batch images (CI always runs them so: `make images`, then
`local up --runtime container`): which image each job ran in, what the commands say of it,
what only a container shows (a job the kernel kills at its memory limit), and the CPU image's
jobs: a cluster upload, a knn model's predict job."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalCloud, upload
from textbatch.local import images
from textbatch.local.images import IMAGES
from textbatch.local.runtime import OUT_OF_MEMORY, RUNTIME_OUTPUT
from textbatch.sample_data import BUNDLED_DIR, generate, write_csv

REPO = Path(__file__).resolve().parents[2]


def in_containers(cloud: LocalCloud) -> bool:
    return cloud.state["outputs"][RUNTIME_OUTPUT].startswith("containers")


def test_jobs_and_status_say_how_the_local_cloud_runs_jobs(cloud: LocalCloud, model_version):
    jobs = cloud.textbatch("jobs", "--since", "1h")
    assert jobs.returncode == 0, jobs.stderr
    said = jobs.stderr.splitlines()[-1]  # a message: on stderr, the table alone on stdout
    assert said == f"local cloud: jobs run as {cloud.state['outputs'][RUNTIME_OUTPUT]}"
    assert "local cloud:" not in jobs.stdout
    [train] = [j for j in cloud.jobs("") if j["container"]["command"][0] == "train"]
    [definition] = cloud.client("batch").describe_job_definitions(
        jobDefinitions=[train["jobDefinition"]]
    )["jobDefinitions"]
    # training needs torch: the GPU image, as its job definition's tag says
    assert definition["containerProperties"]["image"] == IMAGES["gpu"]
    assert definition["containerProperties"]["readonlyRootFilesystem"] is True
    status = cloud.textbatch("status", train["jobId"])
    assert said in status.stderr


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


def test_an_upload_under_cluster_is_clustered_and_the_operations_commands_tell_it(
    cloud: LocalCloud, tmp_path
) -> None:
    """The same trigger, claim, queue, logs and commands as a predict upload; no model."""
    write_csv(tmp_path / "tickets.csv", generate(800, seed=31), labelled=False)
    upload(cloud, "cluster/tickets.csv", tmp_path / "tickets.csv")
    summary = cloud.wait_for_result("cluster/tickets.csv", timeout=180)
    assert summary["kind"] == "_output.json", summary
    assert (summary["rows_in"], summary["rows_clustered"]) == (800, 800)
    assert 2 <= summary["n_clusters"] <= 12
    s3 = cloud.client("s3")
    described = json.loads(
        s3.get_object(Bucket=cloud.bucket("results"), Key="cluster/tickets_clusters.json")[
            "Body"
        ].read()
    )
    assert sum(c["size"] for c in described["clusters"]) == 800
    job = cloud.job_for("cluster/tickets.csv")
    assert job["container"]["command"][0] == "cluster"
    assert "cpu" in job["jobQueue"]
    uri = f"s3://{cloud.bucket('predict')}/cluster/tickets.csv"
    status = cloud.textbatch("status", uri)
    assert "trigger: submitted job" in status.stdout
    assert f"800 rows in, 800 clustered, 0 rejected, {summary['n_clusters']} clusters" in (
        status.stdout
    )
    logs = cloud.textbatch("logs", uri)
    assert logs.returncode == 0, logs.stderr
    assert "done" in logs.stdout
    jobs = cloud.textbatch("jobs", "--since", "1h")
    assert any(line.startswith("cluster/tickets.csv") for line in jobs.stdout.splitlines())
    fetched = cloud.textbatch("results", uri, "-o", str(tmp_path / "clustered.csv"))
    assert fetched.returncode == 0, fetched.stderr
    header = (tmp_path / "clustered.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(",cluster,distance")


def test_a_labelled_upload_with_a_knn_model_goes_to_the_cpu_queue_and_names_neighbours(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    """A knn version published as the stage's latest model: the trigger routes the upload to the
    CPU queue (its manifest wants no GPU), and every row names the training rows it came from.
    The session's model is the latest again afterwards."""
    s3 = cloud.client("s3")
    latest = s3.get_object(Bucket=cloud.bucket("models"), Key="models/latest.json")["Body"].read()
    try:
        trained = cloud.textbatch(
            "train", "--config", str(REPO / "config" / "knn.json"),
            "--data", str(BUNDLED_DIR / "warranty_train.csv"),
            "--out", f"s3://{cloud.bucket('models')}/", "--promote", "always",
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr[-2000:]
        upload(cloud, "knn/labelled.csv", BUNDLED_DIR / "warranty_train.csv")  # labels kept
        summary = cloud.wait_for_result("knn/labelled.csv", timeout=180)
    finally:
        s3.put_object(Bucket=cloud.bucket("models"), Key="models/latest.json", Body=latest)
    assert summary["kind"] == "_output.json", summary
    assert summary["model_version"] != model_version
    job = cloud.job_for("knn/labelled.csv")
    assert "cpu" in job["jobQueue"]
    body = s3.get_object(Bucket=cloud.bucket("results"), Key="knn/labelled_output.csv")["Body"]
    rows = list(csv.DictReader(io.StringIO(body.read().decode("utf-8"))))
    assert len(rows) == summary["rows_in"] == 500
    assert all(len(r["neighbors"].split()) == 10 for r in rows)
    # each training row is its own nearest neighbour, and votes for its own label
    assert sum(r["neighbors"].split()[0] == str(i) for i, r in enumerate(rows, 1)) > 0.9 * 500
    assert sum(r["prediction"] == r["category"] for r in rows) > 0.9 * 500


def test_a_cpu_family_trains_on_the_cpu_queue_in_the_cpu_image(cloud: LocalCloud, model_version):
    """config/fast.json (nbsvm: scipy, no torch) as a Batch job: the CPU queue and the CPU
    image, which has no torch; the session's model keeps serving (--promote never)."""
    trained = cloud.train(REPO / "config" / "fast.json", "--promote", "never")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "to textbatch-local-cpu" in trained.stdout.splitlines()[0]
    assert "not promoted: --promote never" in trained.stdout
    # the report's plotting library has a writable cache on the read-only root (MPLCONFIGDIR)
    assert "Matplotlib created a temporary cache" not in trained.stdout + trained.stderr
    [job] = [
        j
        for j in cloud.jobs("")
        if j["container"]["command"][0] == "train" and "cpu" in j["jobQueue"]
    ]
    [definition] = cloud.client("batch").describe_job_definitions(
        jobDefinitions=[job["jobDefinition"]]
    )["jobDefinitions"]
    if in_containers(cloud):
        assert definition["containerProperties"]["image"] == IMAGES["cpu"]
