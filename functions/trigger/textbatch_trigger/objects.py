"""Uploaded objects from S3 notification and EventBridge events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


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
    """Every object an event names. S3 notifications URL-encode keys (spaces arrive as '+');
    EventBridge does not."""
    if event.get("source") == "aws.s3" and "detail" in event:
        detail = event["detail"]
        obj = detail["object"]
        return [
            UploadedObject(
                bucket=detail["bucket"]["name"],
                key=obj["key"],
                size=obj.get("size"),
                version_id=obj.get("version-id"),
                etag=obj.get("etag"),
            )
        ]
    objects = []
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        objects.append(
            UploadedObject(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                size=obj.get("size"),
                version_id=obj.get("versionId") or None,
                etag=obj.get("eTag") or None,
            )
        )
    return objects
