"""The JSON documents of a file (its summary, its error report, a large file's plan): encoded one
way by the jobs (through Storage) and by the failure reporter (through its S3 client), and
read back as None when they are not there."""

from __future__ import annotations

import json
from typing import Any

CONTENT_TYPE = "application/json"
# S3 answers 403 for a missing key when the caller may not list the bucket.
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound", "403", "AccessDenied"})


def encode(document: Any) -> bytes:
    """Indented UTF-8 JSON, non-ASCII text as it is (file names and messages stay readable)."""
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def is_missing(error: Exception) -> bool:
    """Whether a botocore ClientError means that the object is not there."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in MISSING_CODES


def read_json(s3: Any, uri: str) -> Any:
    """The document at an s3:// URI, or None when there is none."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
    return json.loads(body)


def write_json(s3: Any, uri: str, document: Any) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=encode(document), ContentType=CONTENT_TYPE)


# The error a job's own report names when SIGTERM stopped it (textbatch.errors.Stopped): the
# failure reporter replaces such a report with Batch's reason and attempts.
STOPPED_ERROR = "Stopped"

REVISION = "input_version"  # a summary's or error report's key: the S3 version id it is about


def of_revision(document: dict[str, Any] | None, version: str | None) -> bool:
    """Whether a file's summary or error report is about the uploaded revision `version` (an S3
    version id). A side that does not say (an unversioned bucket, the latest, a document from
    before revisions were recorded) is taken as the same revision."""
    if document is None:
        return False
    written = document.get(REVISION)
    return written in (None, "latest") or version in (None, "latest") or written == version
