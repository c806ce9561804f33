"""A record of the AWS calls a process makes, for the test that evaluates each one against the
deployed IAM policies (tests/e2e/test_permissions.py): off unless TEXTBATCH_CALL_LOG names a
directory, where each process appends one JSON line per call to `<component>-<pid>.jsonl`.

The local cloud sets it for the trigger and the reporter (its relay threads) and passes it to
every job (a bind mount in a container). Only the operation and the parameters that name a
resource or change which IAM action a call is (a VersionId, a CopySource, an If-Match) are
kept: never a body."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

CALL_LOG_ENV = "TEXTBATCH_CALL_LOG"
# the parameters kept: they name the resource, or make the call another IAM action
KEPT = ("Bucket", "Key", "VersionId", "Prefix", "IfMatch", "IfNoneMatch", "Tagging",
        "TableName", "jobQueue", "jobDefinition", "jobId", "arrayJobId", "StackName",
        "logGroupName", "QueueUrl", "TopicArn")  # fmt: skip
_lock = threading.Lock()
_component = {"name": "textbatch"}  # this process's, for clients that do not name one


def set_component(name: str) -> None:
    """Name the calls of this process's clients (a Batch job: `job-<command>`)."""
    _component["name"] = name


def record(client: Any, component: str | None = None) -> Any:
    """`client`, with each of its calls appended to the call log when one is set."""
    directory = os.environ.get(CALL_LOG_ENV)
    if not directory:
        return client
    component = component or _component["name"]
    path = Path(directory) / f"{component}-{os.getpid()}.jsonl"
    service = client.meta.service_model.endpoint_prefix

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        kept = {k: params[k] for k in KEPT if isinstance(params.get(k), str)}
        if "CopySource" in params:  # a dict, or "bucket/key?versionId=..."
            kept["CopySource"] = params["CopySource"]
        if "Delete" in params:
            kept["Delete"] = [o.get("Key") for o in params["Delete"].get("Objects", [])]
        if "jobs" in params:
            kept["jobs"] = list(params["jobs"])
        line = {"component": component, "service": service, "operation": model.name, **kept}
        with _lock, open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    client.meta.events.register("before-parameter-build", note)
    return client
