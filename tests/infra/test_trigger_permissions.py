"""The trigger's IAM policy allows exactly the AWS calls its handler makes, on every path."""

from __future__ import annotations

import contextlib

from textbatch_trigger.handler import RecordsFailed, handle_event
from textbatch_trigger.idempotency import IdempotencyStore
from textbatch_trigger.settings import TriggerSettings

from tests.functional.test_reporter import failed_array, single_job_stopped_by_batch


def record(*clients) -> set[str]:
    """IAM actions of every call the clients make from now on (service prefix:Operation)."""
    calls: set[str] = set()

    def note(model, **_):
        calls.add(f"{model.service_model.endpoint_prefix}:{model.name}")

    for client in clients:
        client.meta.events.register("before-call", note)
    return calls


def event(key: str, version: str) -> dict:
    return {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "in"},
                    "object": {"key": key, "size": 3, "versionId": version},
                },
            }
        ]
    }


def test_handler_calls_match_the_granted_actions(trigger_cloud, synths) -> None:
    settings, batch, dynamodb, s3 = trigger_cloud
    calls = record(batch, dynamodb, s3)
    handle_event(event("a.csv", "v1"), settings, batch=batch, dynamodb=dynamodb, s3=s3)  # submit
    handle_event(event("a.csv", "v1"), settings, batch=batch, dynamodb=dynamodb, s3=s3)  # duplicate
    broken = TriggerSettings(
        **{**settings.__dict__, "gpu_job_queue": "missing", "cpu_job_queue": "missing"}
    )
    with contextlib.suppress(RecordsFailed):  # failure: the claim is released
        handle_event(event("b.csv", "v1"), broken, batch=batch, dynamodb=dynamodb, s3=s3)
    half = TriggerSettings(  # a large file whose array job fails: the split is withdrawn
        **{**settings.__dict__, "predict_queue": "gpu", "gpu_job_queue": "missing"}
    )
    with contextlib.suppress(RecordsFailed):
        large = event("c.csv", "v1")
        large["Records"][0]["s3"]["object"]["size"] = settings.split_threshold_bytes + 1
        handle_event(large, half, batch=batch, dynamodb=dynamodb, s3=s3)
    # a retry that takes over a dead invocation's claim looks for the job it submitted
    IdempotencyStore(settings.idempotency_table, dynamodb, lease_seconds=-1).claim(
        "in/d.csv#v1", uri="s3://in/d.csv"
    )
    handle_event(event("d.csv", "v1"), settings, batch=batch, dynamodb=dynamodb, s3=s3)
    assert calls == {
        "batch:ListJobs",  # the takeover's search by job name
        "batch:SubmitJob",
        "batch:TerminateJob",  # a large file's chain that could not be submitted whole
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:GetObject",  # the model manifest, to choose the queue
    }
    for synth in synths.values():
        granted = granted_actions(synth, "TriggerTriggerFunctionServiceRole")
        granted -= {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }  # on-failure destination
        assert granted == calls, synth.stage


def granted_actions(synth, role: str) -> set[str]:
    """Every action the stack's policies grant to the role whose logical id starts so."""
    return {
        action
        for policy in synth.resources("AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }


def test_reporter_calls_match_the_granted_actions(failing_batch, synths) -> None:
    calls = record(*failing_batch.clients.values())
    single_job_stopped_by_batch(failing_batch)
    failed_array(failing_batch)
    assert calls == {"batch:DescribeJobs", "batch:ListJobs", "s3:GetObject", "s3:PutObject"}
    for synth in synths.values():
        granted = granted_actions(synth, "ReporterReporterFunctionServiceRole")
        granted -= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
        # not a call: it makes S3 answer 404 for a deleted upload's HeadObject (not 403)
        granted -= {"s3:ListBucket"}
        assert granted == calls, synth.stage
