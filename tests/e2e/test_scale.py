"""Large files in the local cloud: split -> array of predict-part children -> merge.

The local stage splits files above 2 MB into parts of 0.5 MB. The reference for every merged
output is the single predict job's output for the same file and model, byte for byte.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import LocalCloud, upload
from textbatch.local.executor import reclaim_marker
from textbatch.sample_data import generate, write_csv

ROWS = 12_500  # about 2.2 MB of claims: five parts


def big_file(path: Path, *, seed: int, multiline: bool = False) -> Path:
    rows = generate(ROWS, seed=seed)
    if multiline:  # a quoted newline in every record: no cut may fall inside one
        rows = [{**r, "text": r["text"].replace(". ", ".\n") + "\nend"} for r in rows]
    write_csv(path, rows, labelled=False)
    return path


def single_job_output(cloud: LocalCloud, key: str, tmp_path: Path) -> bytes:
    result = cloud.textbatch(
        "predict", "--model", f"s3://{cloud.bucket('models')}/",
        "--input", f"s3://{cloud.bucket('predict')}/{key}", "--output", str(tmp_path / "single"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return (tmp_path / "single" / (Path(key).stem + "_output.csv")).read_bytes()


def results(cloud: LocalCloud, prefix: str) -> list[str]:
    listing = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket("results"), Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def read_result(cloud: LocalCloud, key: str) -> bytes:
    s3 = cloud.client("s3")
    return s3.get_object(Bucket=cloud.bucket("results"), Key=key)["Body"].read()


def array_job(cloud: LocalCloud, key: str, timeout: float = 60) -> dict:
    uri = f"s3://{cloud.bucket('predict')}/{key}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in cloud.jobs():
            if job["parameters"].get("input") == uri and "arrayProperties" in job:
                return job
        time.sleep(0.1)
    raise TimeoutError(f"no array job for {key}")


def scaled_jobs(cloud: LocalCloud, key: str) -> dict[str, dict]:
    uri = f"s3://{cloud.bucket('predict')}/{key}"
    found = [
        j for j in cloud.jobs() if j["parameters"].get("input") == uri and ":" not in j["jobId"]
    ]  # the array job itself, not its children
    return {j["container"]["command"][0]: j for j in found}


def test_a_large_file_with_quoted_newlines_merges_to_the_single_job_output(
    cloud, model_version, tmp_path
) -> None:
    key = "scale/multiline.csv"
    upload(cloud, key, big_file(tmp_path / "in.csv", seed=21, multiline=True))
    summary = cloud.wait_for_result(key, timeout=240)
    assert summary["kind"] == "_output.json"
    assert summary["parts"] == 5
    assert summary["rows_in"] == summary["rows_predicted"] == ROWS
    jobs = scaled_jobs(cloud, key)
    assert set(jobs) == {"split", "predict-part", "merge"}
    for job in jobs.values():
        assert cloud.wait_for_job(job["jobId"])["status"] == "SUCCEEDED"
    assert jobs["predict-part"]["arrayProperties"]["size"] == 5
    merged = read_result(cloud, "scale/multiline_output.csv")
    assert merged == single_job_output(cloud, key, tmp_path)
    # the review file too, and the summary's blocks (review rows numbered as in the whole file)
    single_review = (tmp_path / "single" / "multiline_review.csv").read_bytes()
    assert read_result(cloud, "scale/multiline_review.csv") == single_review
    single_summary = json.loads((tmp_path / "single" / "multiline_output.json").read_text())
    for block in ("review", "shift"):
        single_summary[block].pop("file", None), summary[block].pop("file", None)
        assert summary[block] == single_summary[block]
    with open(tmp_path / "in.csv", encoding="utf-8", newline="") as f:
        assert len(list(csv.reader(f))) == ROWS + 1
    assert results(cloud, "_parts/") == []  # the parts are removed after the merge


def newsgroup_like_file(path: Path) -> Path:
    """About 7 MB: long posts with quoted newlines and one field of 160,000 characters (the
    20 Newsgroups test split's shape, which the split job once refused); at the local stage's
    part size, more than 10 parts (part 10 must follow part 9, not part 1)."""
    rows = generate(7_000, seed=23)
    for i, row in enumerate(rows):
        quoted = "\n".join(f"> {row['text']}" for _ in range(6))
        row["text"] = f"Subject: Re: claim {i}\n\n{quoted}\n\n{row['text']}"
    rows[3_333]["text"] = ("> a long quoted thread, line after line\n" * 4_000)[:160_000]
    write_csv(path, rows, labelled=False)
    return path


def test_a_7_mb_file_with_a_160k_field_merges_to_the_single_job_output(
    cloud, model_version, tmp_path
) -> None:
    key = "scale/newsgroups.csv"
    source = newsgroup_like_file(tmp_path / "in.csv")
    assert 6e6 < source.stat().st_size < 8.5e6
    upload(cloud, key, source)
    summary = cloud.wait_for_result(key, timeout=420)
    assert summary["kind"] == "_output.json"
    assert summary["parts"] > 10
    assert summary["rows_in"] == summary["rows_predicted"] == 7_000
    assert set(scaled_jobs(cloud, key)) == {"split", "predict-part", "merge"}
    merged = read_result(cloud, "scale/newsgroups_output.csv")
    assert merged == single_job_output(cloud, key, tmp_path)


def test_a_child_that_loses_its_host_is_retried_alone(cloud, model_version, tmp_path) -> None:
    """... and `logs --follow`, `status` and `jobs` tell the file's run as one story."""
    key = "scale/retried.csv"
    uri = f"s3://{cloud.bucket('predict')}/{key}"
    follow = subprocess.Popen(  # it waits for the trigger to submit the file's jobs
        [sys.executable, "-m", "textbatch.cli.main", "logs", uri, "--follow"],
        env=cloud.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    upload(cloud, key, big_file(tmp_path / "in.csv", seed=22))
    array = array_job(cloud, key)
    # The children wait for the split job: child 1 loses its host as soon as it runs.
    reclaim_marker(cloud.home / "control", f"{array['jobId']}:1").touch()
    summary = cloud.wait_for_result(key, timeout=240)
    assert summary["kind"] == "_output.json"
    batch = cloud.client("batch")
    children = batch.describe_jobs(jobs=[f"{array['jobId']}:{i}" for i in range(5)])["jobs"]
    attempts = {c["jobId"].rsplit(":", 1)[1]: len(c["attempts"]) for c in children}
    assert attempts == {"0": 1, "1": 2, "2": 1, "3": 1, "4": 1}
    assert read_result(cloud, "scale/retried_output.csv") == single_job_output(cloud, key, tmp_path)

    out, err = follow.communicate(timeout=120)
    assert follow.returncode == 0, out + err
    lines = out.splitlines()
    assert any("split_done parts=5" in line for line in lines), out
    assert any(line.startswith("[part 1] predict-part") and "SUCCEEDED" in line for line in lines)
    bars = [line for line in lines if "rows/s" in line and "parts" in line and "[" in line]
    assert bars[-1].split("]", 1)[1].split()[:3] == ["100.0%", str(ROWS), "rows"], bars
    assert bars[-1].endswith("5/5 parts")
    assert any("merge_done" in line and f"rows_in={ROWS}" in line for line in lines), out
    assert lines.index(next(x for x in lines if "merge_done" in x)) > lines.index(bars[-1])

    logs = cloud.textbatch("logs", uri)  # afterwards: each part's last attempt, in part order
    assert logs.returncode == 0, logs.stderr
    parts_seen = [line.split("]")[0] for line in logs.stdout.splitlines() if "part_start" in line]
    assert parts_seen == ["[part 0", "[part 1", "[part 2", "[part 3", "[part 4"]
    assert "merge_done" in logs.stdout.splitlines()[-1]

    status = cloud.textbatch("status", uri)
    assert status.returncode == 0, status.stderr
    assert f"large file: 5 parts, SUCCEEDED, {ROWS} of {ROWS} rows (100.0%)" in (status.stdout)
    assert "parts: 5 succeeded" in status.stdout
    assert f"part 1 (job {array['jobId']}:1): SUCCEEDED, 2 attempt(s)" in status.stdout
    assert "part 2 (job" not in status.stdout  # parts that simply succeeded are not listed
    assert f"{ROWS} rows in, {ROWS} predicted, 0 rejected" in status.stdout

    jobs = cloud.textbatch("jobs", "--since", "1h")
    assert jobs.returncode == 0, jobs.stderr
    rows = jobs.stdout.splitlines()
    [head] = [i for i, row in enumerate(rows) if row.startswith(key + " ")]
    assert array["jobId"] in rows[head]
    assert rows[head].split()[3] == "SUCCEEDED"
    assert f"{ROWS}/{ROWS}" in rows[head]
    assert rows[head + 1].startswith("  split ")
    assert "SUCCEEDED" in rows[head + 1]
    assert rows[head + 2].startswith("  5 parts: 5 succeeded")
    assert rows[head + 3].startswith("  merge ")
    assert "SUCCEEDED" in rows[head + 3]


def test_a_child_failing_for_good_leaves_one_error_report_and_no_output(
    cloud, model_version, tmp_path
) -> None:
    key = "scale/broken.csv"
    data = big_file(tmp_path / "in.csv", seed=23).read_bytes()
    middle = data.index(b"\n", len(data) // 2) + 1  # a record in the third part
    upload(cloud, key, data[:middle] + b"\xff" + data[middle:])
    report = cloud.wait_for_result(key, timeout=240)
    assert report["kind"] == "_error.json"
    assert report["error"] == "PartsFailed"
    assert [p["index"] for p in report["parts"]] == [2]
    assert "not UTF-8" in report["parts"][0]["message"]
    jobs = scaled_jobs(cloud, key)
    merge = cloud.wait_for_job(jobs["merge"]["jobId"])
    assert merge["status"] == "FAILED"
    assert results(cloud, "scale/broken") == ["scale/broken_error.json"]
    status = cloud.textbatch("status", f"s3://{cloud.bucket('predict')}/{key}")
    assert status.returncode == 3, status.stderr  # the file failed
    assert "large file: 5 parts, FAILED" in status.stdout
    assert "parts: 4 succeeded, 1 failed" in status.stdout
    first_row = report["parts"][0]["first_row"]
    assert f"  part 2 (from row {first_row}): " in status.stdout
    assert "not UTF-8" in status.stdout


def test_a_child_stopped_by_the_operator_ends_in_the_file_report_with_batchs_reason(
    cloud, model_version, tmp_path
) -> None:
    """The operator terminates part 1 while it runs: the part stops (SIGTERM) and says so; the
    failure reporter (Batch's FAILED event) writes the part's and the file's report."""
    key = "scale/killed.csv"
    upload(cloud, key, big_file(tmp_path / "in.csv", seed=24))
    array = array_job(cloud, key)
    child = f"{array['jobId']}:1"
    cloud.wait_until_working(child)
    cloud.client("batch").terminate_job(jobId=child, reason="stopped by the operator")
    # the part logs SIGTERM and writes the file's report with its own word first; the failure
    # reporter then writes Batch's account of the part (the operator's reason) over it
    deadline = time.monotonic() + 120
    while True:
        report = cloud.wait_for_result(key, timeout=240)
        assert report["kind"] == "_error.json"
        assert report["error"] == "PartsFailed"
        [part] = report["parts"]
        if "stopped by AWS Batch" in part["message"]:
            break
        assert "stopped by SIGTERM" in part["message"]
        assert time.monotonic() < deadline, report
        time.sleep(0.5)
    assert part["index"] == 1
    assert "stopped by AWS Batch after 1 attempt(s): stopped by the operator" in part["message"]
    assert results(cloud, "scale/killed") == ["scale/killed_error.json"]
    status = cloud.textbatch("status", f"s3://{cloud.bucket('predict')}/{key}")
    assert "large file: 5 parts, FAILED" in status.stdout
    assert f"  part 1 (from row {part['first_row']}): stopped by AWS Batch" in status.stdout
    logs = cloud.client("logs").filter_log_events(
        logGroupName="/aws/lambda/textbatch-local-reporter"
    )
    lines = [json.loads(e["message"]) for e in logs["events"] if e["message"].startswith("{")]
    assert {"decision": "reported", "job_id": array["jobId"], "error": "PartsFailed"}.items() <= (
        next(x for x in lines if x.get("job_id") == array["jobId"]).items()
    )
