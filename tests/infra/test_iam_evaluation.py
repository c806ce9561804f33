"""The evaluator behind tests/e2e/test_permissions.py, on calls written here: it must allow
what the policies allow and refuse what they do not, bucket policies included."""

from __future__ import annotations

import pytest

from tests.iam.policies import Deployment, Names, denied, requests_for


@pytest.fixture(scope="module")
def deployment(synths) -> Deployment:
    return Deployment(synths["prod"].template, "prod")


def bucket(deployment: Deployment, role: str) -> str:
    [name] = [
        deployment.ref(k)
        for k, r in deployment.resources.items()
        if r["Type"] == "AWS::S3::Bucket" and k.startswith(f"Storage{role}Bucket")
    ]
    return name


def call(component: str, operation: str, **params) -> dict:
    return {"component": component, "service": "s3", "operation": operation, **params}


def test_a_versioned_read_of_an_upload_is_s3_get_object_version(deployment) -> None:
    [request] = requests_for(
        call("job-predict", "GetObject", Bucket="b", Key="k", VersionId="v"), Names(deployment)
    )
    assert request.action == "s3:GetObjectVersion"


def test_the_jobs_may_read_the_revision_they_were_given(deployment) -> None:
    predict = bucket(deployment, "Predict")
    calls = [
        call("job-predict", "GetObject", Bucket=predict, Key="in/x.csv", VersionId="v1"),
        call("job-split", "HeadObject", Bucket=predict, Key="in/x.csv", VersionId="v1"),
        call("job-merge", "HeadObject", Bucket=predict, Key="in/x.csv"),
    ]
    assert denied(calls, deployment) == []


def test_what_a_role_may_not_do_is_refused(deployment) -> None:
    predict, results = bucket(deployment, "Predict"), bucket(deployment, "Results")
    calls = [
        call("trigger", "GetObject", Bucket=predict, Key="in/x.csv"),  # reads manifests only
        call("job-predict", "DeleteObject", Bucket=predict, Key="in/x.csv"),  # uploads stay
        call("job-train", "PutObject", Bucket=results, Key="x_output.csv"),
    ]
    assert len(denied(calls, deployment)) == 3


def test_the_train_job_reads_an_encoder_of_ones_own_from_the_models_bucket_only(
    deployment,
) -> None:
    """docs/jobs.md tells a user to put an encoder under the models bucket's encoders/: the
    train job's role must read it there (HeadObject, then GetObject: Storage.download), and
    nowhere it has no business reading."""
    models, results = bucket(deployment, "Models"), bucket(deployment, "Results")
    key = "encoders/mine/model.safetensors"
    allowed = [
        call("job-train", "HeadObject", Bucket=models, Key=key),
        call("job-train", "GetObject", Bucket=models, Key=key),
    ]
    assert denied(allowed, deployment) == []
    assert len(denied([call("job-train", "GetObject", Bucket=results, Key=key)], deployment)) == 1
