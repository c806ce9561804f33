"""Lambda entry point: an EventBridge "Batch Job State Change" event (status FAILED)."""

from __future__ import annotations

from typing import Any

import boto3

from textbatch_reporter.report import report_failure

_clients: dict[str, Any] = {}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for name in ("batch", "s3"):
        _clients.setdefault(name, boto3.client(name))
    return report_failure(event["detail"], **_clients)
