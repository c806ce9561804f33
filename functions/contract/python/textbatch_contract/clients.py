"""How every boto3 client is configured: `botocore.config.Config(**client_config(...))`.

Standard retries (exponential backoff with jitter, retry quotas) everywhere. A Lambda's calls
are also bounded in time so that a call can never outlive the function: at most
CLIENT_ATTEMPTS x (connect + read timeout) = 39 s of FUNCTION_TIMEOUT_S = 60 s, leaving the
handler time to log, and fail, so Lambda retries the event.
"""

from __future__ import annotations

from typing import Any

FUNCTION_TIMEOUT_S = 60  # the Lambda functions' timeout (infra/functions.py)
# How long the trigger's claim on a file's revision holds while it submits the job: just above
# the function's timeout, so a claim outlives no invocation (a dead one's claim is free again
# before Lambda's first retry, about a minute after the failure).
CLAIM_LEASE_S = FUNCTION_TIMEOUT_S + 15
CLIENT_ATTEMPTS = 3  # in a Lambda; the jobs and the CLI allow more
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10


def client_config(*, in_lambda: bool) -> dict[str, Any]:
    if in_lambda:
        return {
            "retries": {"mode": "standard", "total_max_attempts": CLIENT_ATTEMPTS},
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
        }
    return {"retries": {"mode": "standard", "total_max_attempts": 5}}
