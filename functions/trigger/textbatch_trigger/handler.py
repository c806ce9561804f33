"""Lambda entry point: every record of an S3 (or EventBridge) event to `submit_object`."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from textbatch_contract import calls, client_config

from textbatch_trigger.log import log, logger
from textbatch_trigger.objects import objects_in
from textbatch_trigger.settings import TriggerSettings
from textbatch_trigger.submission import FAILED, IGNORED, Outcome, submit_object

_clients: dict[str, Any] = {}


class RecordsFailed(Exception):
    """Some records of an event could not be submitted; the asynchronous invocation retries,
    and the ones already submitted are recognised as duplicates then."""


def client(name: str) -> Any:
    """A client whose calls retry (standard mode) and give up before the function does."""
    return calls.record(
        boto3.client(name, config=Config(**client_config(in_lambda=True))), "trigger"
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = TriggerSettings.from_env()
    for name in ("batch", "dynamodb", "s3"):
        _clients.setdefault(name, client(name))
    return handle_event(event, settings, **_clients)


def handle_event(
    event: dict[str, Any], settings: TriggerSettings, *, batch: Any, dynamodb: Any, s3: Any
) -> dict[str, Any]:
    if event.get("Event") == "s3:TestEvent":
        log(IGNORED, reason="s3:TestEvent sent when the notification was configured")
        return {"outcomes": []}
    outcomes = []
    for obj in objects_in(event):
        try:
            outcomes.append(submit_object(obj, settings, batch=batch, dynamodb=dynamodb, s3=s3))
        except Exception as exc:  # one bad record must not hide the others' outcomes
            outcomes.append(Outcome(FAILED, obj.uri, reason=f"{type(exc).__name__}: {exc}"))
    failed = [o for o in outcomes if o.decision == FAILED]
    if failed:
        raise RecordsFailed(
            f"{len(failed)} of {len(outcomes)} records failed: "
            + "; ".join(f"{o.uri} ({o.reason})" for o in failed)
        )
    return {"outcomes": [o.__dict__ for o in outcomes]}
