"""The trigger's claims table (DynamoDB): one item per uploaded revision, which the trigger
writes (textbatch_trigger.idempotency), the CDK app creates and `textbatch status` reads to
find a file's jobs. Its key and the attributes another process reads."""

from __future__ import annotations

KEY = "pk"  # the partition key: claim_key(...)
STATUS, URI, JOB_ID, JOB_NAME = "status", "uri", "job_id", "job_name"
LEASE_UNTIL = "lease_until"  # an IN_PROGRESS claim's lease, epoch seconds
EXPIRES_AT = "expires_at"  # the table's TTL attribute
IN_PROGRESS, SUBMITTED = "IN_PROGRESS", "SUBMITTED"


def claim_key(bucket: str, key: str, revision: str) -> str:
    """One revision of one object: `bucket/key#revision` (its version id, else its ETag)."""
    return f"{bucket}/{key}#{revision}"


def file_prefix(uri: str) -> str:
    """What every claim of any revision of s3://bucket/key starts with."""
    return uri.removeprefix("s3://") + "#"
