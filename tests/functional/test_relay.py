"""The local cloud's relay retries a failed delivery when Lambda would (a moto SQS queue)."""

from __future__ import annotations

import time

import boto3
from textbatch_contract import CLAIM_LEASE_S, FUNCTION_TIMEOUT_S

from textbatch.local.relay import RETRY_DELAYS_S, EventRelay

REGION = "us-east-1"


def test_lambdas_retry_schedule_comes_after_a_dead_invocations_claim_lease() -> None:
    # a dead invocation fails at its timeout; Lambda retries a minute later: its claim is free
    assert RETRY_DELAYS_S == (60, 120)
    assert FUNCTION_TIMEOUT_S + RETRY_DELAYS_S[0] > CLAIM_LEASE_S


def test_a_failed_delivery_comes_back_after_the_retry_delay_not_at_once(aws_env) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws_env, region_name=REGION)
    events = sqs.create_queue(QueueName="events-relay")["QueueUrl"]
    dead = sqs.create_queue(QueueName="dead-relay")["QueueUrl"]
    relay = EventRelay(
        sqs=sqs, logs=None, queue_url=events, dead_letter_url=dead, function_name="trigger",
        environment={}, log_group="g", retry_delays=(2, 4),
    )  # fmt: skip
    sqs.send_message(QueueUrl=events, MessageBody="{}")

    def receive(wait: int) -> list[dict]:
        return sqs.receive_message(
            QueueUrl=events, WaitTimeSeconds=wait, VisibilityTimeout=30,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])  # fmt: skip

    failed = RuntimeError("the handler failed")
    [first] = receive(1)
    relay._settle(first, failed)
    started = time.monotonic()
    assert receive(1) == []  # not back at once
    [second] = receive(5)
    assert 1.5 <= time.monotonic() - started <= 6  # the first retry's delay
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    relay._settle(second, failed)
    [third] = receive(8)
    relay._settle(third, failed)  # the third failure: to the dead letters
    assert sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1)["Messages"][0]["Body"] == "{}"
