"""The newest revision of an upload wins, whatever order its jobs finish in.

Nothing orders the Batch jobs of two revisions of one key: revision 1 of a large file (split,
many parts, merge) can publish after revision 2's small job finished. So every writer of a
file's outcome (its CSV, summary, clusters or error report: the predict, cluster, split and
merge jobs and the failure reporter) publishes through `Publication`, which uses only what S3
provides:

1. it notes the ETag of each outcome object as it is now (`begin`), *then* reads the uploaded
   key's current version (HeadObject, no version id). If that is not the revision the job
   read, a newer revision exists: its jobs are in flight or done, and this one is `Superseded`.
   Versions are not ordered, but the current one is the newest by definition: S3 gives
   read-after-write consistency, and a newer revision is uploaded before its job starts.
2. every write is conditional on the noted ETag (`If-Match`, or `If-None-Match: *` where there
   was no object), and so is every delete (`If-Match`). A writer that lost a race (412 or 409)
   notes the ETags again and checks again: an older revision's writer then finds itself
   superseded; the newest one writes again over what an older one wrote before it looked.

So an older revision can write only before the newest one has noted the ETags, and whatever it
wrote then is replaced. Local files and unversioned buckets (no version id) are not guarded:
their jobs read and write the latest. Standard library only: the jobs pass their boto3 client,
the failure reporter its own.

AWS references: HeadObject and GetObject without a versionId return the current version
(s3:GetObject); conditional writes (PutObject and CompleteMultipartUpload with If-Match /
If-None-Match, 412 PreconditionFailed, 409 ConditionalRequestConflict) and conditional deletes
(DeleteObject with If-Match, which needs s3:GetObject besides s3:DeleteObject) in the Amazon S3
User Guide's "Add preconditions to S3 operations with conditional requests".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from textbatch_contract.documents import CONTENT_TYPE, encode, is_missing

SUPERSEDED = "superseded"  # the job's log event, and the reporter's reason
# S3's answers to a conditional request whose condition no longer holds
CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
DELETED_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
ATTEMPTS = 5  # races lost in a row before giving up (each is another writer's whole write)
PART_BYTES = 16 * 1024 * 1024  # a conditional upload's parts (S3: at least 5 MiB but the last)

T = TypeVar("T")


class Superseded(Exception):
    """A newer revision of the upload exists: this revision's outcome must not be written."""

    def __init__(self, input_uri: str, version: str, current: str) -> None:
        self.input_uri, self.version, self.current = input_uri, version, current
        super().__init__(
            f"{input_uri}: revision {version} is superseded by revision {current}, uploaded "
            "since; its outcome is left to the newer revision's job"
        )

    def fields(self) -> dict[str, str]:
        return {"input": self.input_uri, "input_version": self.version, "current": self.current}


class OutcomeConflict(Exception):
    """The outcome kept changing under this writer (ATTEMPTS races lost in a row)."""


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def current_version(s3: Any, uri: str) -> str | None:
    """The version id of the key's current version; None when it has none (deleted: its
    current version is a delete marker)."""
    bucket, key = _split(uri)
    try:
        return s3.head_object(Bucket=bucket, Key=key).get("VersionId") or "null"
    except Exception as exc:
        # 404 only: a 403 (no s3:ListBucket, or no s3:GetObject) must not pass for "deleted"
        if _code(exc) in DELETED_CODES:
            return None
        raise


def publication_for(
    s3: Any, *, input_uri: str, version: str | None, outcome: Iterable[str]
) -> Publication | None:
    """The guard for revision `version` of `input_uri`'s outcome, or None where revisions
    cannot be told apart (no version id: an unversioned bucket, `latest`; or not all on S3):
    the one rule the jobs (textbatch.io.storage) and the failure reporter follow."""
    outcome = list(outcome)
    if version in (None, "", "latest") or not all(
        uri.startswith("s3://") for uri in [input_uri, *outcome]
    ):
        return None
    return Publication(s3, input_uri=input_uri, version=version, outcome=outcome)


class Publication:
    """One revision's outcome objects, written only while the revision is its key's newest."""

    def __init__(self, s3: Any, *, input_uri: str, version: str, outcome: Iterable[str]) -> None:
        self.s3 = s3
        self.input_uri = input_uri
        self.version = version
        self.outcome = list(outcome)
        self.etags: dict[str, str | None] = {}

    def begin(self) -> None:
        """Note each outcome object's ETag, then check that the revision is the current one
        (in that order: see the module's docstring). Raises Superseded."""
        self.etags = {uri: self._etag(uri) for uri in self.outcome}
        current = current_version(self.s3, self.input_uri)
        # a deleted key (no current version) has no newer revision to protect
        if current is not None and current != self.version:
            raise Superseded(self.input_uri, self.version, current)

    def _etag(self, uri: str) -> str | None:
        bucket, key = _split(uri)
        try:
            return self.s3.head_object(Bucket=bucket, Key=key)["ETag"]
        except Exception as exc:
            if is_missing(exc):
                return None
            raise

    def condition(self, uri: str) -> dict[str, str]:
        """The write condition for `uri`: unchanged since `begin` (or still absent)."""
        etag = self.etags.get(uri)
        return {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}

    def guarded(self, uri: str, write: Callable[[dict[str, str]], T]) -> T:
        """`write(condition)`, the write of `uri` under its condition (also a caller's own,
        e.g. a copied multipart upload); a lost race begins again (and may find this revision
        superseded) and retries, ATTEMPTS times at most."""
        for attempt in range(ATTEMPTS):
            try:
                return write(self.condition(uri))
            except Exception as exc:
                code = _code(exc)
                # If-Match on an object another writer removed answers 404 NoSuchKey
                lost = code in CONFLICT_CODES or (
                    code in ("NoSuchKey", "404") and self.etags.get(uri)
                )
                if not lost:
                    raise
            time.sleep(0.05 * (attempt + 1))
            self.begin()
        raise OutcomeConflict(f"{uri} kept changing while {self.input_uri} published it")

    def put(self, uri: str, body: bytes, *, content_type: str) -> None:
        bucket, key = _split(uri)

        def write(condition: dict[str, str]) -> None:
            reply = self.s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type, **condition
            )
            self.etags[uri] = reply.get("ETag")

        self.guarded(uri, write)

    def put_json(self, uri: str, document: Any) -> None:
        self.put(uri, encode(document), content_type=CONTENT_TYPE)

    def put_file(self, uri: str, path: Path, *, content_type: str) -> None:
        """A finished local file, in one request or as a multipart upload completed with the
        condition (no partial object is ever visible)."""
        if path.stat().st_size <= PART_BYTES:  # one request
            self.put(uri, path.read_bytes(), content_type=content_type)
            return
        bucket, key = _split(uri)

        def write(condition: dict[str, str]) -> None:
            upload = self.s3.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type
            )
            try:
                parts = []
                with open(path, "rb") as f:
                    while block := f.read(PART_BYTES):
                        number = len(parts) + 1
                        reply = self.s3.upload_part(
                            Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                            PartNumber=number, Body=block,
                        )  # fmt: skip
                        parts.append({"PartNumber": number, "ETag": reply["ETag"]})
                self.complete(uri, upload["UploadId"], parts, condition)
            except Exception:
                self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
                raise

        self.guarded(uri, write)

    def complete(
        self, uri: str, upload_id: str, parts: list[dict[str, Any]], condition: dict[str, str]
    ) -> None:
        """CompleteMultipartUpload under `condition` (a multipart upload the caller made)."""
        bucket, key = _split(uri)
        reply = self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts},
            **condition,
        )  # fmt: skip
        self.etags[uri] = reply.get("ETag")

    def delete(self, uri: str) -> None:
        """Remove `uri` if it is there and unchanged since `begin` (an earlier revision's
        error report beside this revision's result)."""
        bucket, key = _split(uri)
        if not self.etags.get(uri):
            return

        def remove(condition: dict[str, str]) -> None:
            if "IfMatch" not in condition:
                return  # gone since: nothing to remove
            try:
                self.s3.delete_object(Bucket=bucket, Key=key, **condition)
            except Exception as exc:
                if _code(exc) != "NotImplemented":
                    raise
                # an emulator without conditional deletes (LocalStack 4.14; AWS has them):
                # look again, then delete as the newest revision without the condition
                self.begin()
                if self.etags.get(uri) == condition["IfMatch"]:
                    self.s3.delete_object(Bucket=bucket, Key=key)
            self.etags[uri] = None

        self.guarded(uri, remove)
