"""The jobs against S3 through a real moto server endpoint (HTTP, real boto3 calls)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import write_config
from textbatch.errors import InputError, StorageError
from textbatch.io.storage import Storage
from textbatch.jobs.events import EventLog
from textbatch.jobs.predict import PredictRequest, run_predict
from textbatch.jobs.train import TrainRequest, run_train


def keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def train_to(uri: str, config_uri: str, data_uri: str, storage: Storage):
    return run_train(
        TrainRequest(config=config_uri, data=data_uri, out=uri),
        storage=storage,
        log=EventLog(io.StringIO(), job="train"),
    )


@pytest.fixture
def s3_inputs(s3, bucket, tmp_path, sample_train, sample_predict) -> dict[str, str]:
    s3.upload_file(str(write_config(tmp_path, num_epoch=3)), bucket, "config/config.json")
    s3.upload_file(str(sample_train), bucket, "training/claims.csv")
    s3.upload_file(str(sample_predict), bucket, "in/my claims é.csv")
    return {
        "config": f"s3://{bucket}/config/config.json",
        "data": f"s3://{bucket}/training/claims.csv",
        "input": f"s3://{bucket}/in/my claims é.csv",
    }


def test_train_publishes_a_version_then_the_latest_pointer(s3, bucket, storage, s3_inputs) -> None:
    result = train_to(f"s3://{bucket}/", s3_inputs["config"], s3_inputs["data"], storage)
    prefix = f"models/{result.version}/"
    assert {k for k in keys(s3, bucket) if k.startswith(prefix)} == {
        prefix + name
        for name in (
            "model.params", "network.json", "transformer.json", "config.json", "labels.json",
            "metrics.json", "manifest.json", "report.html",
        )
    }  # fmt: skip
    latest = json.loads(s3.get_object(Bucket=bucket, Key="models/latest.json")["Body"].read())
    assert {k: latest[k] for k in ("version", "path")} == {
        "version": result.version,
        "path": prefix,
    }
    assert latest["reason"] == "the location's first version"  # the promotion gate's
    assert latest["previous"] == []


def test_predict_from_s3_to_an_s3_prefix_via_latest(s3, bucket, storage, s3_inputs) -> None:
    result = train_to(f"s3://{bucket}", s3_inputs["config"], s3_inputs["data"], storage)
    summary = run_predict(
        PredictRequest(
            model=f"s3://{bucket}", input=s3_inputs["input"], output=f"s3://{bucket}/results/"
        ),
        storage=storage,
        log=EventLog(io.StringIO(), job="predict"),
    )
    assert summary.model_version == result.version
    body = s3.get_object(Bucket=bucket, Key="results/my claims é_output.csv")["Body"].read()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert len(rows) == 61
    header = rows[0]
    at = header.index("prediction")
    assert header[at + 1] == "confidence"
    assert header[header.index("review") + 1] == "review_reason"
    saved = json.loads(
        s3.get_object(Bucket=bucket, Key="results/my claims é_output.json")["Body"].read()
    )
    assert saved["rows_in"] == 60
    assert saved["input"] == s3_inputs["input"]
    # the upload is never modified or deleted
    assert "in/my claims é.csv" in keys(s3, bucket)


def test_bad_s3_input_leaves_an_error_report_beside_the_results(
    s3, bucket, storage, s3_inputs
) -> None:
    train_to(f"s3://{bucket}", s3_inputs["config"], s3_inputs["data"], storage)
    s3.put_object(Bucket=bucket, Key="in/latin.csv", Body="text\ncafé\n".encode("latin-1"))
    with pytest.raises(InputError, match="is not UTF-8"):
        run_predict(
            PredictRequest(
                model=f"s3://{bucket}",
                input=f"s3://{bucket}/in/latin.csv",
                output=f"s3://{bucket}/out",
            ),
            storage=storage,
            log=EventLog(io.StringIO(), job="predict"),
        )
    report = json.loads(s3.get_object(Bucket=bucket, Key="out/latin_error.json")["Body"].read())
    assert "s3://" in report["message"]
    assert "UTF-8" in report["hint"]
    assert "out/latin_output.csv" not in keys(s3, bucket)


def test_a_failed_upload_does_not_move_the_latest_pointer(s3, bucket, storage, s3_inputs) -> None:
    first = train_to(f"s3://{bucket}", s3_inputs["config"], s3_inputs["data"], storage)

    def refuse_labels(params, **_):
        if params.get("Key", "").endswith("labels.json"):
            raise ConnectionError("simulated network failure during upload")

    s3.meta.events.register("before-parameter-build.s3.PutObject", refuse_labels)
    try:
        with pytest.raises(Exception, match="simulated network failure"):
            train_to(f"s3://{bucket}", s3_inputs["config"], s3_inputs["data"], storage)
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.PutObject", refuse_labels)
    latest = json.loads(s3.get_object(Bucket=bucket, Key="models/latest.json")["Body"].read())
    assert latest["version"] == first.version


def test_missing_bucket_is_a_clear_storage_error(storage) -> None:
    with pytest.raises(StorageError, match=r"cannot read s3://no-such-bucket-tb/x\.csv") as info:
        storage.read_bytes("s3://no-such-bucket-tb/x.csv")
    assert "does not exist" in info.value.hint


def test_config_url_keys_publish_where_they_say(s3, bucket, storage, s3_inputs, tmp_path) -> None:
    s3.upload_file(
        str(
            write_config(
                tmp_path,
                num_epoch=1,
                MODELPARAMSURL=bucket,
                TRANSFORMERURL=f"s3://{bucket}/transformers",
                MODELCONFIGURL=f"s3://{bucket}/configs/",
            )
        ),
        bucket,
        "config/urls.json",
    )
    run_train(
        TrainRequest(config=f"s3://{bucket}/config/urls.json", data=s3_inputs["data"]),
        storage=storage,
        log=EventLog(io.StringIO(), job="train"),
    )
    stored = keys(s3, bucket)
    assert "models/latest.json" in stored
    assert "transformers/transformer.json" in stored
    assert "configs/config.json" in stored


def test_jobs_read_the_uploaded_revision_and_results_never_contradict(
    s3, bucket, storage, s3_inputs, trained, sample_predict
) -> None:
    """A bad upload, then a fixed one under the same key: each job reads its own revision, and
    the fixed revision's success removes the bad one's report."""
    model, _ = trained
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    bad = s3.put_object(Bucket=bucket, Key="in/claims.csv", Body=b"")["VersionId"]
    uri, results = f"s3://{bucket}/in/claims.csv", f"s3://{bucket}/results/"

    def predict(version: str):
        return run_predict(
            PredictRequest(model=str(model), input=uri, output=results, input_version=version),
            storage=storage,
            log=EventLog(io.StringIO(), job="predict"),
        )

    with pytest.raises(InputError, match="empty"):
        predict(bad)
    report = storage.read_json_or_none(f"{results}claims_error.json")
    assert report["input_version"] == bad
    good = s3.put_object(Bucket=bucket, Key="in/claims.csv", Body=sample_predict.read_bytes())[
        "VersionId"
    ]
    summary = predict(good)
    assert (summary.input_version, summary.rows_in) == (good, 60)
    assert storage.read_json_or_none(f"{results}claims_output.json")["input_version"] == good
    assert not storage.exists(f"{results}claims_error.json")  # removed: it was the bad one's
    # the input is never touched: both revisions are still there
    versions = s3.list_object_versions(Bucket=bucket, Prefix="in/claims.csv")["Versions"]
    assert {v["VersionId"] for v in versions} == {bad, good}


def test_a_250_byte_file_name_and_names_that_differ_only_in_case_get_their_own_results(
    s3, bucket, storage, trained, sample_predict
) -> None:
    """The local copy of an upload was named after its key: a 247-byte name or more crashed
    the job (File name too long); x.csv and x.CSV shared one result."""
    model, _ = trained
    long_name = "c" * 246 + ".csv"
    assert len(long_name.encode()) == 250
    for key in (f"in/{long_name}", "in/x.csv", "in/x.CSV"):
        s3.upload_file(str(sample_predict), bucket, key)
        summary = run_predict(
            PredictRequest(
                model=str(model), input=f"s3://{bucket}/{key}", output=f"s3://{bucket}/out/"
            ),
            storage=storage,
            log=EventLog(io.StringIO(), job="predict"),
        )
        assert summary.rows_predicted == 60
    results = [k for k in keys(s3, bucket) if k.startswith("out/")]
    assert sorted(results) == sorted(
        f"out/{stem}{suffix}"
        for stem in ("c" * 246, "x", "x.CSV")
        for suffix in ("_output.csv", "_output.json", "_review.csv")
    )
