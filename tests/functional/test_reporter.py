"""The failure reporter against a moto server: Batch fails the jobs (moto's simple Batch with
MOTO_SIMPLE_BATCH_FAIL_AFTER=0), the reporter reads them and writes the reports to S3."""

from __future__ import annotations

import json

import pytest
from textbatch_contract import OutputPlan
from textbatch_contract.documents import STOPPED_ERROR
from textbatch_contract.parts import Part, PartsPlan, part_name
from textbatch_reporter.report import hint_for, report_failure

from tests.conftest import FailingBatch
from textbatch.io.storage import Storage


def submit(cloud: FailingBatch, *, name: str, parameters: dict, **kwargs) -> dict:
    job_id = cloud.batch.submit_job(
        jobName=name,
        jobQueue=cloud.settings.cpu_job_queue,
        jobDefinition=cloud.settings.cpu_job_definition,
        parameters=parameters,
        **kwargs,
    )["jobId"]
    [job] = cloud.batch.describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "FAILED"
    return job


def read(cloud: FailingBatch, uri: str) -> dict:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(cloud: FailingBatch) -> list[str]:
    listing = cloud.s3.list_objects_v2(Bucket=cloud.bucket).get("Contents", [])
    return sorted(o["Key"] for o in listing)


def report(cloud: FailingBatch, job_id: str) -> dict:
    return report_failure({"jobId": job_id}, **cloud.clients)


@pytest.mark.parametrize(
    ("input_key", "output"),
    [
        ("in/claims.csv", "out/"),
        ("in/a/b/April Claims.CSV", "out/a/b/"),
        ("in/claims.csv", ""),  # the bucket's root
        ("in/claims.csv", "out/x/result.csv"),
        ("in/notes.txt", "out/prefix"),
    ],
)
def test_the_reporter_writes_where_the_jobs_write_their_reports(
    failing_batch, input_key, output
) -> None:
    """The Lambda and the jobs share textbatch_contract: a copy that drifts fails here."""
    cloud = failing_batch
    uri, out = (
        f"s3://in-bucket/{input_key}",
        f"s3://{cloud.bucket}" + (f"/{output}" if output else ""),
    )
    job = submit(cloud, name="tb-x", parameters={"input": uri, "output": out})
    assert report(cloud, job["jobId"])["decision"] == "reported"
    error = OutputPlan.for_request(uri, out).error  # where run_predict writes its own report
    assert keys(cloud) == [error.removeprefix(f"s3://{cloud.bucket}/")]


def single_job_stopped_by_batch(cloud: FailingBatch) -> None:
    uri = "s3://in/april claims.csv"
    output = f"s3://{cloud.bucket}/in/"
    job = submit(cloud, name="tb-april", parameters={"input": uri, "output": output})
    assert report(cloud, job["jobId"])["decision"] == "reported"
    assert keys(cloud) == ["in/april claims_error.json"]
    written = read(cloud, f"{output}april claims_error.json")
    assert written["error"] == "JobFailed"
    assert written["input"] == uri
    assert (
        f"job {job['jobId']} for {uri} was stopped by AWS Batch after 1 attempt(s)"
        in (written["message"])
    )
    assert len(written["attempts"]) == 1
    assert f"textbatch logs {job['jobId']}" in written["hint"]
    again = report(cloud, job["jobId"])  # the event delivered again: nothing is rewritten
    assert again["decision"] == "ignored"
    assert again["reason"] == "the job wrote its error report"


def test_a_job_stopped_by_batch_gets_the_file_report(failing_batch) -> None:
    single_job_stopped_by_batch(failing_batch)


def test_a_file_with_a_result_and_jobs_not_about_a_file_are_left_alone(failing_batch) -> None:
    cloud = failing_batch
    cloud.s3.put_object(Bucket=cloud.bucket, Key="done_output.json", Body=b"{}")
    done = submit(
        cloud,
        name="tb-done",
        parameters={"input": "s3://in/done.csv", "output": f"s3://{cloud.bucket}/"},
    )
    train = submit(cloud, name="train", parameters={"data": "s3://t/x.csv", "out": "s3://m/"})
    assert report(cloud, done["jobId"])["reason"] == "the file has a result"
    assert report(cloud, train["jobId"])["reason"].startswith("not a file's job")
    assert keys(cloud) == ["done_output.json"]


def test_an_earlier_revisions_result_or_report_does_not_stop_the_report(failing_batch) -> None:
    """Revision v1 succeeded (or failed, reporting itself); Batch then killed v2's job: v2 gets
    its report, naming its revision, and the result of v1 stays."""
    cloud = failing_batch
    output = f"s3://{cloud.bucket}/"
    cloud.s3.put_object(
        Bucket=cloud.bucket, Key="c_output.json", Body=json.dumps({"input_version": "v1"})
    )
    cloud.s3.put_object(
        Bucket=cloud.bucket, Key="d_error.json", Body=json.dumps({"input_version": "v1"})
    )
    for name in ("c", "d"):
        job = submit(
            cloud,
            name=f"tb-{name}",
            parameters={"input": f"s3://in/{name}.csv", "output": output, "input_version": "v2"},
        )
        assert report(cloud, job["jobId"])["decision"] == "reported"
        written = read(cloud, f"{output}{name}_error.json")
        assert (written["error"], written["input_version"]) == ("JobFailed", "v2")
    assert read(cloud, f"{output}c_output.json") == {"input_version": "v1"}
    # the same revision's result does stop it
    same = submit(
        cloud,
        name="tb-c-again",
        parameters={"input": "s3://in/c.csv", "output": output, "input_version": "v1"},
    )
    assert report(cloud, same["jobId"])["reason"] == "the file has a result"


def submit_array(cloud: FailingBatch, *, name: str, uri: str, prefix: str, size: int) -> dict:
    """A large file's array job of predict-part children, as the trigger submits it."""
    output = f"s3://{cloud.bucket}/"
    command = ["predict-part", "--model", "s3://m/", "--parts", prefix, "--output", output]
    return submit(
        cloud, name=name, parameters={"input": uri, "output": output},
        arrayProperties={"size": size}, containerOverrides={"command": command},
    )  # fmt: skip


def failed_array(cloud: FailingBatch) -> None:
    uri, prefix = "s3://in/big.csv", f"s3://{cloud.bucket}/_parts/tb-big/"
    parts = [
        Part(i, f"{prefix}{part_name(i)}", 100 * i, 100 * (i + 1), 10 * i, 12 * i, 10)
        for i in range(3)
    ]
    plan = PartsPlan(input=uri, prefix=prefix, parts=parts)
    plan.save(Storage(cloud.s3))
    own = plan.output_of(parts[0]).error  # part 0 reported its bad input itself
    cloud.s3.put_object(
        Bucket=cloud.bucket,
        Key=own.removeprefix(f"s3://{cloud.bucket}/"),
        Body=json.dumps({"error": "InputError", "message": "line 3: not UTF-8"}).encode(),
    )
    # part 1 was stopped by SIGTERM and said only that: Batch's account replaces it
    stopped = plan.output_of(parts[1]).error
    cloud.s3.put_object(
        Bucket=cloud.bucket,
        Key=stopped.removeprefix(f"s3://{cloud.bucket}/"),
        Body=json.dumps({"error": STOPPED_ERROR, "message": "stopped by SIGTERM"}).encode(),
    )
    array = submit_array(cloud, name="tb-big", uri=uri, prefix=prefix, size=3)
    child = report(cloud, f"{array['jobId']}:1")
    assert child["reason"] == "an array child: reported with its array job"
    outcome = report(cloud, array["jobId"])
    assert outcome["decision"] == "reported"
    assert outcome["part_reports_written"] == [1, 2]
    written = read(cloud, f"s3://{cloud.bucket}/big_error.json")
    assert written["error"] == "PartsFailed"
    assert written["message"] == f"3 of 3 parts of {uri} failed; no output was written"
    assert [(p["index"], p["bytes"], p["first_row"]) for p in written["parts"]] == [
        (0, [0, 100], 1),
        (1, [100, 200], 11),
        (2, [200, 300], 21),
    ]
    assert written["parts"][0]["message"] == "line 3: not UTF-8"  # as the part wrote it
    assert "stopped by AWS Batch after 1 attempt(s)" in written["parts"][1]["message"]
    assert read(cloud, plan.output_of(parts[2]).error)["error"] == "JobFailed"


def test_a_failed_array_lists_every_failed_part_once(failing_batch) -> None:
    failed_array(failing_batch)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (
            {"container": {"reason": "OutOfMemoryError: Container killed due to memory usage"}},
            "ran out of memory",
        ),
        ({"container": {"exitCode": 137}}, "ran out of memory"),
        ({"statusReason": "Job attempt duration exceeded timeout"}, "attempt timeout"),
        ({"statusReason": "Host EC2 (instance i-1) terminated."}, "textbatch logs job-1"),
    ],
)
def test_the_hint_says_what_to_change(attempt, expected) -> None:
    assert expected in hint_for({"jobId": "job-1", "attempts": [attempt]})


@pytest.mark.parametrize(
    ("reason", "hint"),
    [
        ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no g4dn in the zone", "Service Quotas"),
        ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - 8 GPUs", "exceed the compute environment"),
    ],
)
def test_a_job_cancelled_while_runnable_gets_a_report_with_a_capacity_hint(
    failing_batch, reason, hint
) -> None:
    """The queues cancel a job no instance could take (infra: RUNNABLE time limits); it never
    ran, so it wrote nothing: the reporter writes the file's report."""
    cloud = failing_batch
    output = f"s3://{cloud.bucket}/"
    detail = {  # the event's detail, as EventBridge delivers it (Batch no longer lists the job)
        "jobId": "a1b2c3d4-0000-4000-8000-000000000001",
        "jobName": "tb-waiting",
        "status": "FAILED",
        "statusReason": reason,
        "attempts": [],
        "parameters": {"input": "s3://in/waiting.csv", "output": output, "input_version": "v3"},
        "container": {"command": ["predict"]},
    }
    assert report_failure(detail, **cloud.clients)["decision"] == "reported"
    written = read(cloud, f"{output}waiting_error.json")
    assert written["error"] == "JobFailed"
    assert "cancelled by AWS Batch after waiting RUNNABLE" in written["message"]
    assert reason in written["message"]
    assert hint in written["hint"]
    assert written["input_version"] == "v3"
    # a job that never ran because its dependency failed is still left to that one
    detail["statusReason"] = "Dependent Job failed"
    detail["parameters"]["input"] = "s3://in/dependent.csv"
    assert report_failure(detail, **cloud.clients)["decision"] == "ignored"


def test_a_report_of_a_job_stopped_by_sigterm_gets_batchs_reason(failing_batch) -> None:
    """The job logged SIGTERM and reported `Stopped`; Batch knows why (the operator's reason,
    the attempt timeout, each attempt): the reporter's JobFailed replaces it. Any other report
    of the job's own is kept."""
    from textbatch_contract.documents import STOPPED_ERROR

    cloud = failing_batch
    output = f"s3://{cloud.bucket}/"
    cloud.s3.put_object(
        Bucket=cloud.bucket, Key="t_error.json", Body=json.dumps({"error": STOPPED_ERROR})
    )
    job = submit(cloud, name="tb-t", parameters={"input": "s3://in/t.csv", "output": output})
    assert report(cloud, job["jobId"])["decision"] == "reported"
    assert read(cloud, f"{output}t_error.json")["error"] == "JobFailed"
    cloud.s3.put_object(
        Bucket=cloud.bucket, Key="u_error.json", Body=json.dumps({"error": "InputError"})
    )
    job = submit(cloud, name="tb-u", parameters={"input": "s3://in/u.csv", "output": output})
    assert report(cloud, job["jobId"])["reason"] == "the job wrote its error report"


class _NeverPlaced:
    """The moto client, with the array's children described as Batch describes children that
    the queue's RUNNABLE time limit cancelled (moto's simple Batch runs every child)."""

    def __init__(self, batch, reason: str) -> None:
        self._batch, self._reason = batch, reason

    def __getattr__(self, name: str):
        return getattr(self._batch, name)

    def describe_jobs(self, jobs: list[str]) -> dict:
        described = self._batch.describe_jobs(jobs=jobs)
        for job in described["jobs"]:
            if ":" in job["jobId"]:
                job["attempts"], job["statusReason"] = [], self._reason
        return described


def test_array_children_no_instance_took_get_the_capacity_hint_in_the_files_report(
    failing_batch,
) -> None:
    cloud = failing_batch
    uri, prefix = "s3://in/huge.csv", f"s3://{cloud.bucket}/_parts/tb-huge/"
    parts = [Part(i, f"{prefix}{part_name(i)}", 10 * i, 10 * (i + 1), i, i, 1) for i in range(2)]
    PartsPlan(input=uri, prefix=prefix, parts=parts).save(Storage(cloud.s3))
    array = submit_array(cloud, name="tb-huge", uri=uri, prefix=prefix, size=2)
    reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no g5 in the zone"
    clients = {**cloud.clients, "batch": _NeverPlaced(cloud.batch, reason)}
    outcome = report_failure({"jobId": array["jobId"]}, **clients)
    assert outcome["decision"] == "reported"
    assert outcome["part_reports_written"] == [0, 1]
    written = read(cloud, f"s3://{cloud.bucket}/huge_error.json")
    assert written["error"] == "PartsFailed"
    for part in written["parts"]:
        assert part["message"] == f"cancelled by AWS Batch after waiting RUNNABLE: {reason}"
        assert "Service Quotas" in part["hint"]
