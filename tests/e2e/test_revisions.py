"""What no emulator orders: two revisions of one key whose jobs finish in the other order, and
names the local copy or the results could confuse. In the local cloud, through the trigger."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from tests.e2e.conftest import LocalCloud
from textbatch.sample_data import generate, write_csv


def claims(path: Path, rows: int, seed: int) -> bytes:
    write_csv(path, generate(rows, seed=seed), labelled=False)
    return path.read_bytes()


def finished(cloud: LocalCloud, key: str, timeout: float = 300) -> list[dict]:
    """Every job of every revision of `key`, once all of them have ended."""
    uri = f"s3://{cloud.bucket('predict')}/{key}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [j for j in cloud.jobs() if j["parameters"].get("input") == uri]
        if jobs and all(j["status"] in ("SUCCEEDED", "FAILED") for j in jobs):
            return jobs
        time.sleep(1)
    raise TimeoutError(f"the jobs of {key} did not end in {timeout} s")


def test_a_large_revision_uploaded_just_before_a_small_one_ends_with_the_small_ones_result(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    s3, bucket, key = cloud.client("s3"), cloud.bucket("predict"), "order/claims.csv"
    large = claims(tmp_path / "large.csv", 25_000, seed=41)  # about 4.4 MB: split in 9 parts
    small = claims(tmp_path / "small.csv", 500, seed=42)
    first = s3.put_object(Bucket=bucket, Key=key, Body=large)["VersionId"]
    second = s3.put_object(Bucket=bucket, Key=key, Body=small)["VersionId"]
    assert cloud.wait_for_result(key, version=second, timeout=180)["rows_in"] == 500
    jobs = finished(cloud, key)
    merge = next(j for j in jobs if j["container"]["command"][0] == "merge")
    assert merge["parameters"]["input_version"] == first
    assert merge["status"] == "SUCCEEDED"  # it found itself superseded and wrote nothing
    assert any('"event": "superseded"' in line for line in cloud.job_log(merge))
    summary = cloud.wait_for_result(key)
    assert (summary["kind"], summary["input_version"], summary["rows_in"]) == (
        "_output.json", second, 500,
    )  # fmt: skip
    output = s3.get_object(Bucket=cloud.bucket("results"), Key="order/claims_output.csv")
    rows = list(csv.reader(io.StringIO(output["Body"].read().decode())))
    assert len(rows) == 501
    command = merge["container"]["command"]
    prefix = command[command.index("--parts") + 1].split("/", 3)[3]
    parts = s3.list_objects_v2(Bucket=cloud.bucket("results"), Prefix=prefix)
    assert parts.get("KeyCount", 0) == 0  # the superseded chain removed its own parts
    status = cloud.textbatch("status", f"s3://{bucket}/{key}")
    assert f"superseded: revision {second}" in status.stdout, status.stdout


def test_names_that_differ_in_case_and_a_250_byte_name_get_results_of_their_own(
    cloud: LocalCloud, model_version, tmp_path
) -> None:
    s3, bucket = cloud.client("s3"), cloud.bucket("predict")
    body = claims(tmp_path / "c.csv", 40, seed=43)
    long_name = "n" * 246 + ".csv"
    keys = ["case/x.csv", "case/x.CSV", f"case/{long_name}"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    expected = {
        f"case/{stem}{suffix}"
        for stem in ("x", "x.CSV", "n" * 246)
        for suffix in ("_output.csv", "_output.json", "_review.csv")
    }
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listing = s3.list_objects_v2(Bucket=cloud.bucket("results"), Prefix="case/")
        found = {o["Key"] for o in listing.get("Contents", [])}
        if expected <= found or any(k.endswith("_error.json") for k in found):
            break
        time.sleep(1)
    assert found == expected
    for stem, key in (("x", keys[0]), ("x.CSV", keys[1])):
        summary = s3.get_object(Bucket=cloud.bucket("results"), Key=f"case/{stem}_output.json")
        assert f'"input": "s3://{bucket}/{key}"' in summary["Body"].read().decode()
