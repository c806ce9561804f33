"""The newest revision wins, whatever order the jobs finish in (textbatch_contract.revisions).

Against a moto server, which honours S3's conditional writes and deletes (If-Match,
If-None-Match: 412 PreconditionFailed) as the Amazon S3 User Guide describes them: each test
runs the jobs of two revisions of one key in the order Batch could finish them."""

from __future__ import annotations

import io
import json

import pytest
from textbatch_contract import OutputPlan
from textbatch_contract.revisions import Publication, Superseded
from textbatch_reporter.report import report_failure

from textbatch.errors import InputError
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.scale.merge import run_merge
from textbatch.scale.part import run_part
from textbatch.scale.split import run_split

KEY = "in/claims.csv"


@pytest.fixture
def versioned(s3, bucket) -> str:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def upload(s3, bucket: str, body: bytes) -> str:
    return s3.put_object(Bucket=bucket, Key=KEY, Body=body)["VersionId"]


def lines(log: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in log.getvalue().splitlines()]


def predict(storage, model, bucket, version, log):
    return run_predict(
        PredictRequest(
            model=str(model), input=f"s3://{bucket}/{KEY}", output=f"s3://{bucket}/out/",
            input_version=version,
        ),
        storage=storage,
        log=EventLog(log, job="predict"),
    )  # fmt: skip


def outcome(storage: Storage, bucket: str) -> OutputPlan:
    return OutputPlan.for_request(f"s3://{bucket}/{KEY}", f"s3://{bucket}/out/")


def test_an_older_revision_finishing_last_leaves_the_newer_result_alone(
    s3, versioned, storage, trained, sample_predict
) -> None:
    model, _ = trained
    bucket = versioned
    older = upload(s3, bucket, sample_predict.read_bytes())
    newer = upload(s3, bucket, b"text\n" + b"".join(b"kettle %d broke\n" % i for i in range(10)))
    assert predict(storage, model, bucket, newer, io.StringIO()).rows_in == 10
    log = io.StringIO()
    assert predict(storage, model, bucket, older, log) is None  # it finished later
    plan = outcome(storage, bucket)
    summary = storage.read_json_or_none(plan.summary)
    assert (summary["input_version"], summary["rows_in"]) == (newer, 10)
    assert storage.read_bytes(plan.csv).count(b"\n") == 11
    [superseded] = [e for e in lines(log) if e["event"] == "superseded"]
    assert (superseded["input_version"], superseded["current"]) == (older, newer)


def test_an_older_failing_revision_writes_no_report_and_an_older_success_keeps_the_newer_report(
    s3, versioned, storage, trained, sample_predict
) -> None:
    model, _ = trained
    bucket = versioned
    plan = outcome(storage, bucket)
    # 1: an older empty revision fails after the newer one succeeded: no report over the result
    empty = upload(s3, bucket, b"")
    good = upload(s3, bucket, sample_predict.read_bytes())
    predict(storage, model, bucket, good, io.StringIO())
    with pytest.raises(InputError, match="empty"):
        predict(storage, model, bucket, empty, io.StringIO())
    assert not storage.exists(plan.error)
    # 2: a newer revision failed; the older one's success must not remove its report
    older = upload(s3, bucket, sample_predict.read_bytes())
    bad = upload(s3, bucket, b"text\n")
    with pytest.raises(InputError, match="no data rows"):
        predict(storage, model, bucket, bad, io.StringIO())
    assert predict(storage, model, bucket, older, io.StringIO()) is None
    assert storage.read_json_or_none(plan.error)["input_version"] == bad
    assert storage.read_json_or_none(plan.summary)["input_version"] == good  # untouched


def test_a_writer_that_looked_before_the_newer_upload_loses_the_race(s3, versioned) -> None:
    """The window between the check and the write: revision 1 checks (it is current), revision
    2 is uploaded and publishes; revision 1's conditional write then fails, it looks again
    and finds itself superseded. The newer writer that loses a race to an older one that had
    looked earlier writes again."""
    bucket = versioned
    uri = f"s3://{bucket}/{KEY}"
    summary = f"s3://{bucket}/out/claims_output.json"
    first = upload(s3, bucket, b"text\na\n")
    older = Publication(s3, input_uri=uri, version=first, outcome=[summary])
    older.begin()
    second = upload(s3, bucket, b"text\nb\n")
    newer = Publication(s3, input_uri=uri, version=second, outcome=[summary])
    newer.begin()
    with pytest.raises(Superseded):
        older.begin()  # looking now, it would know at once
    older.etags = {summary: None}  # as it noted them before the newer upload
    newer.put_json(summary, {"input_version": second})
    with pytest.raises(Superseded):
        older.put_json(summary, {"input_version": first})
    # a newer writer whose noted ETag is stale (an older writer got in before it wrote)
    stale = Publication(s3, input_uri=uri, version=second, outcome=[summary])
    stale.etags = {summary: None}
    stale.put_json(summary, {"input_version": second, "again": True})
    body = s3.get_object(Bucket=bucket, Key="out/claims_output.json")["Body"].read()
    assert json.loads(body) == {"input_version": second, "again": True}


def test_a_large_files_older_merge_is_superseded_and_removes_only_its_own_parts(
    s3, versioned, storage, trained, sample_predict
) -> None:
    model, _ = trained
    bucket = versioned
    uri, output = f"s3://{bucket}/{KEY}", f"s3://{bucket}/out/"
    older = upload(s3, bucket, sample_predict.read_bytes())
    silent = EventLog(io.StringIO(), job="split")
    mine, theirs = f"s3://{bucket}/_parts/tb-claims-1/", f"s3://{bucket}/_parts/tb-claims-2/"
    run_split(uri, mine, 2, output=output, storage=storage, log=silent, version=older)
    for index in range(2):
        run_part(str(model), mine, output, index, storage=storage, log=silent)
    newer = upload(s3, bucket, sample_predict.read_bytes())
    storage.write_json(f"{theirs}plan.json", {"the newer chain's": "parts"})
    predict(storage, model, bucket, newer, io.StringIO())
    log = io.StringIO()
    assert run_merge(mine, output, storage=storage, log=EventLog(log, job="merge")) is None
    assert "superseded" in [e["event"] for e in lines(log)]
    assert storage.list(mine) == []
    assert storage.list(theirs) == [f"{theirs}plan.json"]
    assert storage.read_json_or_none(outcome(storage, bucket).summary)["input_version"] == newer


def test_the_reporter_leaves_a_superseded_revisions_failure_to_the_newer_one(
    failing_batch,
) -> None:
    cloud = failing_batch
    s3 = cloud.s3
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="uploads", Key=KEY, Body=b"text\na\n")["VersionId"]
    s3.put_object(Bucket="uploads", Key=KEY, Body=b"text\nb\n")  # in flight, no outcome yet
    job_id = cloud.batch.submit_job(
        jobName="tb-claims",
        jobQueue=cloud.settings.cpu_job_queue,
        jobDefinition=cloud.settings.cpu_job_definition,
        parameters={
            "input": f"s3://uploads/{KEY}",
            "output": f"s3://{cloud.bucket}/",
            "input_version": first,
        },
    )["jobId"]
    outcome = report_failure({"jobId": job_id}, **cloud.clients)
    assert (outcome["decision"], outcome["reason"]) == ("ignored", "superseded")
    assert s3.list_objects_v2(Bucket=cloud.bucket).get("KeyCount") == 0


@pytest.fixture
def enforcing_s3():
    """S3 that enforces conditions on CompleteMultipartUpload too: LocalStack (make test starts
    it and sets TEXTBATCH_E2E_ENDPOINT). moto checks them on PutObject and DeleteObject only."""
    import os
    import uuid

    import boto3

    endpoint = os.environ.get("TEXTBATCH_E2E_ENDPOINT")
    if not endpoint:
        pytest.skip("needs LocalStack (TEXTBATCH_E2E_ENDPOINT; `make test` starts it)")
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    bucket = f"tb-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3, bucket


def test_a_large_result_is_a_multipart_upload_completed_under_the_condition(
    enforcing_s3, tmp_path
) -> None:
    """A result above one part goes as a multipart upload; its completion carries the
    condition: the older writer that looked before the newer upload fails and is superseded,
    the newest writer with a stale ETag writes again."""
    from textbatch_contract.revisions import PART_BYTES

    s3, bucket = enforcing_s3
    uri, target = f"s3://{bucket}/{KEY}", f"s3://{bucket}/out/claims_output.csv"
    big = tmp_path / "big.csv"
    big.write_bytes(b"text\n" + b"x" * (PART_BYTES + 1024) + b"\n")
    first = upload(s3, bucket, b"text\na\n")
    older = Publication(s3, input_uri=uri, version=first, outcome=[target])
    older.begin()
    second = upload(s3, bucket, b"text\nb\n")
    s3.put_object(Bucket=bucket, Key="out/claims_output.csv", Body=b"the newer result")
    with pytest.raises(Superseded):
        older.put_file(target, big, content_type="text/csv")
    assert s3.get_object(Bucket=bucket, Key="out/claims_output.csv")["Body"].read() == (
        b"the newer result"
    )
    newest = Publication(s3, input_uri=uri, version=second, outcome=[target])
    newest.etags = {target: None}  # stale: it looked before the object above was written
    newest.put_file(target, big, content_type="text/csv")
    head = s3.head_object(Bucket=bucket, Key="out/claims_output.csv")
    assert head["ContentLength"] == big.stat().st_size
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []  # the failed one was aborted
