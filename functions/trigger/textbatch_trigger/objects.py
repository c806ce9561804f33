"""Uploaded objects from S3 notification and EventBridge events (Powertools' classes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int | None
    version_id: str | None
    etag: str | None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def revision(self) -> str:
        """What makes one upload of a key distinct from another: its version, else its ETag."""
        return self.version_id or self.etag or "unversioned"


def objects_in(event: dict[str, Any]) -> list[UploadedObject]:
    """Every created object an event names, read with Powertools' event classes. S3
    notifications URL-encode keys (spaces arrive as '+'): decoded here; Powertools decodes the
    EventBridge form's key itself."""
    if event.get("source") == "aws.s3" and "detail" in event:
        detail = S3EventBridgeNotificationEvent(event).detail
        obj = detail.object
        return [
            UploadedObject(
                bucket=detail.bucket.name,
                key=obj.key,
                size=obj.size,
                version_id=obj.get("version-id") or None,
                etag=obj.etag or None,
            )
        ]
    if "Records" not in event:
        return []
    objects = []
    for record in S3Event(event).records:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = record.s3.get_object
        objects.append(
            UploadedObject(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                size=obj.get("size"),
                version_id=obj.version_id or None,
                etag=obj.etag or None,
            )
        )
    return objects
