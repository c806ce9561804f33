"""Lambda entry point: an EventBridge "Batch Job State Change" event (status FAILED)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from botocore.config import Config
from textbatch_contract import calls, client_config

from textbatch_reporter.log import logger
from textbatch_reporter.report import report_failure

_clients: dict[str, Any] = {}


def client(name: str) -> Any:
    """A client whose calls retry (standard mode) and give up before the function does."""
    return calls.record(
        boto3.client(name, config=Config(**client_config(in_lambda=True))), "reporter"
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for name in ("batch", "s3"):
        _clients.setdefault(name, client(name))
    return report_failure(dict(EventBridgeEvent(event).detail), **_clients)
