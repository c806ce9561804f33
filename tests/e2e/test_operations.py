"""The operator's commands against the local cloud, on real runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import LocalCloud, upload
from textbatch.sample_data import BUNDLED_DIR, generate, write_csv

REPO = Path(__file__).resolve().parents[2]


def test_jobs_status_and_results_for_a_success_and_a_failure(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    upload(cloud, "ops/good.csv", BUNDLED_DIR / "warranty_predict.csv")
    upload(cloud, "ops/bad.csv", "text\ncafé\n".encode("latin-1"))
    cloud.wait_for_result("ops/good.csv")
    cloud.wait_for_result("ops/bad.csv")
    for key in ("ops/good.csv", "ops/bad.csv"):
        cloud.wait_for_job(cloud.job_for(key)["jobId"])

    jobs = cloud.textbatch("jobs", "--since", "1h")
    assert jobs.returncode == 0, jobs.stderr
    lines = jobs.stdout.splitlines()
    assert lines[0].split() == [
        "INPUT",
        "JOB",
        "ID",
        "QUEUE",
        "STATE",
        "TRIES",
        "ROWS",
        "TIME",
        "OUTPUT",
    ]
    good = next(line for line in lines if line.startswith("ops/good.csv"))
    assert "SUCCEEDED" in good
    assert " 60 " in good
    assert "ops/good_output.csv" in good
    assert "FAILED" in next(line for line in lines if line.startswith("ops/bad.csv"))

    uri = f"s3://{cloud.bucket('predict')}/ops/good.csv"
    status = cloud.textbatch("status", uri)
    assert status.returncode == 0, status.stderr
    assert "trigger: submitted job" in status.stdout
    assert "SUCCEEDED" in status.stdout
    assert "attempt 1: started" in status.stdout
    assert "exit code 0" in status.stdout
    assert f"60 rows in, 60 predicted, 0 rejected, model {model_version}" in status.stdout
    assert re.search(r"review: \d+ rows to review.*ops/good_review\.csv", status.stdout)
    assert re.search(r"shift: (low|medium|high)", status.stdout)

    bad = cloud.textbatch("status", f"s3://{cloud.bucket('predict')}/ops/bad.csv")
    assert "FAILED" in bad.stdout
    assert "error report: InputError:" in bad.stdout
    assert "is not UTF-8" in bad.stdout

    by_id = cloud.textbatch("status", cloud.job_for("ops/good.csv")["jobId"])
    assert f"file: {uri}" in by_id.stdout

    fetched = cloud.textbatch("results", uri, "-o", str(tmp_path / "good.csv"))
    assert fetched.returncode == 0, fetched.stderr
    stored = cloud.client("s3").get_object(
        Bucket=cloud.bucket("results"), Key="ops/good_output.csv"
    )
    assert (tmp_path / "good.csv").read_bytes() == stored["Body"].read()
    assert f"wrote {tmp_path / 'good.csv'} (60 rows)" in fetched.stderr
    review = cloud.textbatch("results", uri, "--review")
    assert review.returncode == 0, review.stderr
    stored = cloud.client("s3").get_object(
        Bucket=cloud.bucket("results"), Key="ops/good_review.csv"
    )
    # (the helper reads stdout as text: its line ends are \n)
    assert review.stdout.splitlines() == stored["Body"].read().decode().splitlines()
    assert review.stdout.startswith("row,review_reason,prediction,confidence")
    # an error report goes to stderr: `results URI > out.csv` never writes JSON into a CSV
    report = cloud.textbatch("results", f"s3://{cloud.bucket('predict')}/ops/bad.csv")
    assert report.returncode == 1
    assert '"error": "InputError"' in report.stderr
    assert report.stdout == ""

    logs = cloud.textbatch("logs", f"s3://{cloud.bucket('predict')}/ops/bad.csv")
    assert logs.returncode == 1  # the job failed
    assert "trigger submitted" in logs.stdout
    assert "failed error=InputError" in logs.stdout

    # for scripts: one JSON document (or JSON lines), exit codes that follow the state
    bad_uri = f"s3://{cloud.bucket('predict')}/ops/bad.csv"
    assert bad.returncode == 3  # failed
    story = json.loads(cloud.textbatch("status", uri, "--json").stdout)
    assert (story["state"], story["exit_code"], story["file"]) == ("succeeded", 0, uri)
    assert story["result"]["rows_in"] == 60
    assert story["jobs"][-1]["status"] == "SUCCEEDED"
    assert story["jobs"][-1]["attempts"][0]["exit_code"] == 0
    failed = cloud.textbatch("status", bad_uri, "--json")
    assert failed.returncode == 3
    failed_story = json.loads(failed.stdout)
    assert (failed_story["state"], failed_story["error"]["error"]) == ("failed", "InputError")
    listed = cloud.textbatch("jobs", "--since", "1h", "--json")
    assert listed.returncode == 0, listed.stderr
    by_input = {job["input"]: job for job in json.loads(listed.stdout)["jobs"]}
    assert by_input[uri]["status"] == "SUCCEEDED"
    assert by_input[uri]["rows_done"] == 60
    assert by_input[bad_uri]["status"] == "FAILED"
    lines = cloud.textbatch("logs", bad_uri, "--json")
    assert lines.returncode == 1
    records = [json.loads(line) for line in lines.stdout.splitlines()]
    assert records[0]["decision"] == "submitted"
    assert any(r.get("event") == "failed" for r in records)
    summary = cloud.textbatch("results", uri, "--json")
    assert json.loads(summary.stdout)["rows_predicted"] == 60


def test_logs_follow_shows_progress_until_the_job_ends(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    write_csv(tmp_path / "big.csv", generate(10_000, seed=9), labelled=False)
    uri = f"s3://{cloud.bucket('predict')}/ops/followed.csv"
    follow = subprocess.Popen(  # before the upload: it waits for the trigger to submit the job
        [sys.executable, "-m", "textbatch.cli.main", "logs", uri, "--follow"],
        env=cloud.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(3)
    upload(cloud, "ops/followed.csv", tmp_path / "big.csv")
    out, err = follow.communicate(timeout=300)
    assert follow.returncode == 0, out + err
    assert "RUNNING" in out
    assert "SUCCEEDED" in out
    bars = [line for line in out.splitlines() if "[" in line and "rows/s" in line and "ETA" in line]
    assert bars, out
    assert "done rows_in=10000" in out


def test_user_mistakes_are_one_clear_line(cloud: LocalCloud) -> None:
    for args, message in [
        (("jobs", "--stage", "nope"), "stack Textbatch-nope not found"),
        (("jobs", "--since", "soon"), "--since 'soon' is not a duration"),
        (("status", f"s3://{cloud.bucket('predict')}/never.csv"), "nothing is known about"),
        (("status", "no-such-job-id"), "no job no-such-job-id"),
    ]:
        result = cloud.textbatch(*args)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_job_killed_by_batch_still_leaves_an_error_report(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    # long enough to be stopped mid-way, below the local split threshold (2 MB)
    write_csv(tmp_path / "killed.csv", generate(10_000, seed=11), labelled=False)
    upload(cloud, "ops/killed.csv", tmp_path / "killed.csv")
    batch = cloud.client("batch")
    deadline = time.monotonic() + 120
    jobs: list[dict] = []
    while not jobs and time.monotonic() < deadline:
        jobs = [j for j in cloud.jobs() if j["parameters"].get("input", "").endswith("killed.csv")]
        time.sleep(0.1)
    [job] = jobs
    cloud.wait_until_working(job["jobId"])  # its process is stopped mid-way
    batch.terminate_job(jobId=job["jobId"], reason="stopped by the operator")
    # SIGTERM first, as Batch sends it: the job logs it and reports `Stopped`; the failure
    # reporter then writes what Batch says (the operator's reason, the attempts) over it
    deadline = time.monotonic() + 120
    while (report := cloud.wait_for_result("ops/killed.csv"))["error"] != "JobFailed":
        assert report["error"] == "Stopped"
        assert time.monotonic() < deadline, report
        time.sleep(0.5)
    assert report["kind"] == "_error.json"
    ended = cloud.wait_for_job(job["jobId"])
    assert any("stopped by SIGTERM" in line for line in cloud.job_log(ended))
    assert f"predict job {job['jobId']}" in report["message"]
    assert "after 1 attempt(s): stopped by the operator" in report["message"]
    assert report["attempts"][0]["log_stream"].startswith("predict/default/")
    status = cloud.textbatch("status", f"s3://{cloud.bucket('predict')}/ops/killed.csv")
    assert "error report: JobFailed: predict job" in status.stdout


def test_a_fixed_upload_of_a_bad_file_ends_in_one_consistent_result(
    cloud: LocalCloud, model_version
) -> None:
    """claims.csv uploaded bad, then fixed under the same key: each job reads its revision, the
    fixed one's result removes the bad one's report, and `results` gives the result."""
    s3, bucket = cloud.client("s3"), cloud.bucket("predict")
    bad = s3.put_object(Bucket=bucket, Key="fix/claims.csv", Body="text\ncafé\n".encode("latin-1"))
    assert cloud.wait_for_result("fix/claims.csv", version=bad["VersionId"])["kind"] == (
        "_error.json"
    )
    good = s3.put_object(
        Bucket=bucket,
        Key="fix/claims.csv",
        Body=(BUNDLED_DIR / "warranty_predict.csv").read_bytes(),
    )
    summary = cloud.wait_for_result("fix/claims.csv", version=good["VersionId"])
    assert (summary["kind"], summary["rows_in"]) == ("_output.json", 60)
    results = cloud.textbatch("results", f"s3://{bucket}/fix/claims.csv")
    assert results.returncode == 0, results.stdout[-500:] + results.stderr
    assert results.stdout.startswith("claim_id,customer,text,prediction")
    listed = s3.list_objects_v2(Bucket=cloud.bucket("results"), Prefix="fix/")
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        "fix/claims_output.csv",
        "fix/claims_output.json",
        "fix/claims_review.csv",
    ]
