"""The whole pipeline on the local cloud: upload, trigger, Batch job, results and logs."""

from __future__ import annotations

import csv
import io
import json
import time

from tests.e2e.conftest import LocalCloud, upload
from textbatch.local.executor import reclaim_marker
from textbatch.sample_data import BUNDLED_DIR, generate, with_submitted, write_csv


def output_rows(cloud: LocalCloud, key: str) -> list[list[str]]:
    body = cloud.client("s3").get_object(Bucket=cloud.bucket("results"), Key=key)["Body"].read()
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def result_keys(cloud: LocalCloud, prefix: str) -> list[str]:
    listing = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket("results"), Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_an_upload_gets_every_row_classified_by_the_latest_model(cloud, model_version) -> None:
    upload(cloud, "claims/march.csv", BUNDLED_DIR / "warranty_predict.csv")
    summary = cloud.wait_for_result("claims/march.csv")
    assert summary["kind"] == "_output.json"
    assert summary["model_version"] == model_version
    assert summary["rows_in"] == summary["rows_out"] == 60
    rows = output_rows(cloud, "claims/march_output.csv")
    assert len(rows) == 61
    at = rows[0].index("prediction")
    assert rows[0][at + 1] == "confidence"
    assert rows[0][rows[0].index("review") + 1] == "review_reason"
    job = cloud.wait_for_job(cloud.job_for("claims/march.csv")["jobId"])
    assert job["status"] == "SUCCEEDED"
    log = [json.loads(line) for line in cloud.job_log(job)]
    assert log[-1]["event"] == "done"
    assert log[-1]["rows_in"] == 60
    # the trigger's decision is in its log group
    logs = cloud.client("logs")
    group = "/aws/lambda/textbatch-local-trigger"
    messages = [
        e["message"]
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    ]
    decisions = [json.loads(m) for m in messages if m.startswith("{")]
    assert any(d["decision"] == "submitted" and d["key"] == "claims/march.csv" for d in decisions)


def test_two_files_uploaded_together(cloud, model_version) -> None:
    upload(cloud, "together/a.csv", b"text\nThe oven caught fire\nWater leaked everywhere\n")
    upload(cloud, "together/b.csv", b"text\nSparks at the socket\n")
    assert cloud.wait_for_result("together/a.csv")["rows_in"] == 2
    assert cloud.wait_for_result("together/b.csv")["rows_in"] == 1


def test_an_upload_names_its_compare_column_in_its_metadata(cloud, model_version, tmp_path) -> None:
    """The job reads the user metadata of the revision it classifies (HeadObject with its
    version id): rows against the submitter's category go to the review file."""
    rows = with_submitted(generate(80, seed=4), 0.2, seed=4)
    path = tmp_path / "submitted.csv"
    write_csv(path, rows, labelled=False, submitted=True)
    cloud.client("s3").put_object(
        Bucket=cloud.bucket("predict"),
        Key="review/submitted.csv",
        Body=path.read_bytes(),
        Metadata={"compare-column": "submitted"},
    )
    summary = cloud.wait_for_result("review/submitted.csv")
    block = summary["review"]
    assert block["compare_column"] == "submitted"
    assert block["rows_compared"] == 80
    # every slipped category is reviewed, unless the model is sure of the slip itself
    output = output_rows(cloud, "review/submitted_output.csv")
    header = output[0]
    at = {name: header.index(name) for name in ("prediction", "review", "submitted")}
    for row, truth in zip(output[1:], rows, strict=True):
        if (
            truth["submitted"] != truth["category"]
            and row[at["prediction"]] != row[at["submitted"]]
        ):
            assert row[at["review"]] == "yes"
    review = output_rows(cloud, "review/submitted_review.csv")
    assert len(review) == 1 + block["rows_to_review"]
    assert review[0][:4] == ["row", "review_reason", "prediction", "confidence"]
    assert summary["shift"]["level"] in ("low", "medium", "high")
    job = cloud.wait_for_job(cloud.job_for("review/submitted.csv")["jobId"])
    events = [json.loads(line)["event"] for line in cloud.job_log(job)]
    assert "review" in events
    assert "shift" in events


def test_keys_with_spaces_and_unicode(cloud, model_version) -> None:
    key = "équipe ventes/claims + notes 2026.csv"
    upload(cloud, key, b"text\nThe kettle burst into flames\n")
    summary = cloud.wait_for_result(key)
    assert summary["kind"] == "_output.json"
    assert result_keys(cloud, "équipe ventes/") == [
        "équipe ventes/claims + notes 2026_output.csv",
        "équipe ventes/claims + notes 2026_output.json",
        "équipe ventes/claims + notes 2026_review.csv",
    ]


def test_the_same_event_delivered_twice_gives_one_job(cloud, model_version) -> None:
    key = "dup/once.csv"
    upload(cloud, key, b"text\nThe dryer caught fire\n")
    cloud.wait_for_result(key)
    head = cloud.client("s3").head_object(Bucket=cloud.bucket("predict"), Key=key)
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": cloud.bucket("predict")},
                    "object": {
                        "key": "dup/once.csv",
                        "size": head["ContentLength"],
                        "eTag": head["ETag"].strip('"'),
                        **({"versionId": head["VersionId"]} if head.get("VersionId") else {}),
                    },
                },
            }
        ]
    }
    sqs = cloud.client("sqs")
    for _ in range(2):  # S3's at-least-once delivery, twice more
        sqs.send_message(QueueUrl=cloud.state["events_queue_url"], MessageBody=json.dumps(event))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sqs.get_queue_attributes(
            QueueUrl=cloud.state["events_queue_url"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"] == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }:
            break
        time.sleep(0.5)
    time.sleep(2)
    cloud.job_for(key)  # exactly one


def test_a_malformed_csv_fails_once_with_a_report_and_logs_saying_why(cloud, model_version) -> None:
    key = "bad/latin1.csv"
    upload(cloud, key, "text\ncafé fire\n".encode("latin-1"))
    report = cloud.wait_for_result(key)
    assert report["kind"] == "_error.json"
    assert "is not UTF-8" in report["message"]
    job = cloud.wait_for_job(cloud.job_for(key)["jobId"])
    assert job["status"] == "FAILED"
    assert len(job["attempts"]) == 1  # an application error is not retried
    assert any("is not UTF-8" in line for line in cloud.job_log(job))
    assert result_keys(cloud, "bad/") == ["bad/latin1_error.json"]


def test_a_lost_host_is_retried_and_leaves_one_complete_output(
    cloud, model_version, tmp_path
) -> None:
    key = "big/reclaimed.csv"
    write_csv(tmp_path / "big.csv", generate(10_000, seed=5), labelled=False)
    upload(cloud, key, tmp_path / "big.csv")
    deadline = time.monotonic() + 90
    job = None
    while time.monotonic() < deadline:  # as soon as it runs: its process is still starting
        jobs = [j for j in cloud.jobs() if j["parameters"].get("input", "").endswith(key)]
        if jobs and jobs[0]["status"] == "RUNNING":
            job = jobs[0]
            break
        time.sleep(0.1)
    assert job is not None, "the job never ran"
    # What `textbatch local reclaim JOB_ID` does, without a process start's delay.
    reclaim_marker(cloud.home / "control", job["jobId"]).touch()
    final = cloud.wait_for_job(job["jobId"], timeout=180)
    assert final["status"] == "SUCCEEDED"
    assert len(final["attempts"]) == 2
    assert final["attempts"][0]["statusReason"].startswith("Host EC2")
    summary = cloud.wait_for_result(key)
    assert summary["rows_in"] == summary["rows_out"] == 10_000
    assert result_keys(cloud, "big/") == [
        "big/reclaimed_output.csv",
        "big/reclaimed_output.json",
        "big/reclaimed_review.csv",
    ]
    assert len(output_rows(cloud, "big/reclaimed_output.csv")) == 10_001


def test_a_wrong_model_location_fails_clearly(cloud, model_version) -> None:
    key = "models-missing/x.csv"
    upload(cloud, "staging/x.csv", b"text\nfire\n")
    batch = cloud.client("batch")
    job = batch.submit_job(
        jobName="tb-wrong-model",
        jobQueue="textbatch-local-gpu",
        jobDefinition="textbatch-local-predict",
        parameters={
            "input": f"s3://{cloud.bucket('predict')}/staging/x.csv",
            "output": f"s3://{cloud.bucket('results')}/models-missing/",
            "model": f"s3://{cloud.bucket('models')}/models/no-such-version/",
        },
    )
    final = cloud.wait_for_job(job["jobId"])
    assert final["status"] == "FAILED"
    assert len(final["attempts"]) == 1
    report = cloud.wait_for_result(key)
    assert report["error"] == "ArtifactError"
    assert "no model at" in report["message"]


def test_a_new_training_run_is_used_by_the_next_prediction(cloud, model_version, tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"n_classes": 5, "num_epoch": 1, "seq_len": 40, "embed_size": 16,
                                  "kernel_size": 3, "use_spacy_pretrained": False}))  # fmt: skip
    result = cloud.train(config, "--promote", "always")  # the gate: tests/e2e/test_lifecycle.py
    assert result.returncode == 0, result.stderr
    latest = json.loads(
        cloud.client("s3")
        .get_object(Bucket=cloud.bucket("models"), Key="models/latest.json")["Body"]
        .read()
    )["version"]
    assert latest != model_version
    assert f"model {latest} published" in result.stdout
    upload(cloud, "retrained/y.csv", b"text\nThe boiler leaked water\n")
    assert cloud.wait_for_result("retrained/y.csv")["model_version"] == latest


def test_local_reclaim_marks_the_job_for_the_executor(cloud) -> None:
    result = cloud.textbatch("local", "reclaim", "job-123")
    assert result.returncode == 0, result.stderr
    marker = reclaim_marker(cloud.home / "control", "job-123")
    assert marker.exists()
    marker.unlink()
