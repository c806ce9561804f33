"""At most one job per object revision, with a DynamoDB conditional write.

S3 delivers events at least once, sometimes twice and concurrently. The first delivery claims
the revision (IN_PROGRESS, with a lease just above the function's timeout), submits, then
records the job id (SUBMITTED). A delivery that finds a SUBMITTED record is a duplicate; one
that finds a live IN_PROGRESS claim cannot know whether its holder will submit, so it fails
and Lambda retries it (textbatch_trigger.submission). A failed submission deletes its claim,
so a retry can claim again; a claim whose holder died (the function timed out, the runtime
crashed) expires with its lease, before Lambda's retry comes. Items expire (DynamoDB TTL on
`expires_at`) after `retention_days`, long after S3 stops redelivering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from textbatch_contract import CLAIM_LEASE_S
from textbatch_contract.claims import (
    EXPIRES_AT,
    IN_PROGRESS,
    JOB_ID,
    JOB_NAME,
    KEY,
    LEASE_UNTIL,
    STATUS,
    SUBMITTED,
    URI,
)


@dataclass(frozen=True)
class Claim:
    acquired: bool
    status: str | None = None  # the existing record's status when not acquired
    job_id: str | None = None
    lease_until: int | None = None  # an IN_PROGRESS claim's lease, epoch seconds
    # acquired over an expired IN_PROGRESS claim: its holder may have submitted the job and
    # died before recording it (textbatch_trigger.submission adopts such a job)
    taken_over: bool = False


class IdempotencyStore:
    def __init__(
        self,
        table: str,
        client: Any,
        *,
        lease_seconds: int = CLAIM_LEASE_S,
        retention_days: int = 7,
    ) -> None:
        self.table = table
        self.client = client
        self.lease_seconds = lease_seconds
        self.retention_seconds = retention_days * 86400

    def claim(self, key: str, *, uri: str, force: bool = False) -> Claim:
        now = int(time.time())
        item = {
            KEY: {"S": key},
            STATUS: {"S": IN_PROGRESS},
            URI: {"S": uri},
            LEASE_UNTIL: {"N": str(now + self.lease_seconds)},
            EXPIRES_AT: {"N": str(now + self.retention_seconds)},
        }
        condition = {}
        if not force:
            condition = {
                "ConditionExpression": "attribute_not_exists(#key) OR "
                "(#status = :in_progress AND #lease_until < :now)",
                "ExpressionAttributeNames": {
                    "#key": KEY,
                    "#status": STATUS,
                    "#lease_until": LEASE_UNTIL,
                },
                "ExpressionAttributeValues": {
                    ":in_progress": {"S": IN_PROGRESS},
                    ":now": {"N": str(now)},
                },
            }
        try:
            reply = self.client.put_item(
                TableName=self.table, Item=item, ReturnValues="ALL_OLD", **condition
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            existing = self.client.get_item(
                TableName=self.table, Key={KEY: {"S": key}}, ConsistentRead=True
            )
            found = existing.get("Item", {})
            return Claim(
                acquired=False,
                status=found.get(STATUS, {}).get("S"),
                job_id=found.get(JOB_ID, {}).get("S"),
                lease_until=int(found[LEASE_UNTIL]["N"]) if LEASE_UNTIL in found else None,
            )
        old = reply.get("Attributes") or {}
        return Claim(acquired=True, taken_over=old.get(STATUS, {}).get("S") == IN_PROGRESS)

    def complete(self, key: str, *, job_id: str, job_name: str, attempts: int = 4) -> None:
        """Record the submitted job. Retried (0.5, 1, 2 s apart): a failure here leaves the
        claim IN_PROGRESS, and the retry after its lease adopts the job rather than submit
        another."""
        for attempt in range(attempts):
            try:
                self._complete(key, job_id=job_id, job_name=job_name)
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5 * 2**attempt)

    def _complete(self, key: str, *, job_id: str, job_name: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={KEY: {"S": key}},
            UpdateExpression="SET #status = :submitted, #job_id = :job_id, #job_name = :job_name",
            ExpressionAttributeNames={"#status": STATUS, "#job_id": JOB_ID, "#job_name": JOB_NAME},
            ExpressionAttributeValues={
                ":submitted": {"S": SUBMITTED},
                ":job_id": {"S": job_id},
                ":job_name": {"S": job_name},
            },
        )

    def release(self, key: str) -> None:
        """Forget a claim whose submission failed, so that a retry may submit."""
        self.client.delete_item(TableName=self.table, Key={KEY: {"S": key}})
