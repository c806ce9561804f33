"""Read and write local paths and s3:// URIs through one interface.

The S3 client is passed in or built from the standard AWS configuration (profile, region,
AWS_ENDPOINT_URL...), so the same code runs against AWS, LocalStack or moto.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from textbatch_contract import calls, client_config, documents
from textbatch_contract.paths import basename, is_s3, join
from textbatch_contract.revisions import OutcomeConflict, Publication, publication_for

from textbatch.errors import StorageError

__all__ = ["S3Uri", "Storage", "basename", "is_s3", "join"]

# The mode open() gives a new file under this process's umask (read once, at import).
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
LOCAL_COPY_NAME = "object"  # an S3 object's local copy; errors name the object's URI


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith("s3://"):
            raise StorageError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise StorageError(f"{uri!r} names no bucket", hint="write it as s3://bucket/key")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, name: str) -> S3Uri:
        prefix = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Uri(self.bucket, prefix + name)


class Storage:
    """Local files and S3 objects, read and written alike."""

    def __init__(self, s3_client: Any | None = None) -> None:
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", config=Config(**client_config(in_lambda=False)))
            self._s3 = calls.record(client)
        return self._s3

    def read_bytes(self, uri: str) -> bytes:
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            with _s3_errors(uri, "read"):
                return self.s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        try:
            return Path(uri).read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"{uri}: no such file", hint="check the path") from exc
        except IsADirectoryError as exc:
            raise StorageError(f"{uri}: is a directory, expected a file") from exc
        except PermissionError as exc:
            raise StorageError(
                f"{uri}: permission denied (the job runs as user {os.getuid()})",
                hint="make the file readable by that user",
            ) from exc

    def read_text(self, uri: str) -> str:
        data = self.read_bytes(uri)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise StorageError(f"{uri}: not UTF-8 text", hint="save the file as UTF-8") from exc

    def read_json_or_none(self, uri: str) -> Any:
        """A JSON document, or None when there is no such object or file."""
        if not is_s3(uri) and not Path(uri).is_file():
            return None
        try:
            return json.loads(self.read_bytes(uri))
        except StorageError as exc:
            if exc.status == 404:
                return None
            raise

    def write_json(self, uri: str, document: Any) -> None:
        """A file's summary, error report or plan, encoded as every process encodes them."""
        self.write_bytes(uri, documents.encode(document), content_type=documents.CONTENT_TYPE)

    def write_bytes(self, uri: str, data: bytes, *, content_type: str | None = None) -> None:
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            extra = {"ContentType": content_type} if content_type else {}
            with _s3_errors(uri, "write"):
                self.s3.put_object(Bucket=obj.bucket, Key=obj.key, Body=data, **extra)
            return
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".tmp-") as tmp:
            tmp.write(data)
        os.chmod(tmp.name, FILE_MODE)  # as open() would create it, not tempfile's 0600
        os.replace(tmp.name, path)

    def read_tagged(self, uri: str) -> tuple[bytes | None, str | None]:
        """An object's bytes and the tag a conditional write names it by (S3: its ETag; a
        local file: the sha256 of its bytes); (None, None) when there is none."""
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            try:
                with _s3_errors(uri, "read"):
                    reply = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)
            except StorageError as exc:
                if exc.status == 404:
                    return None, None
                raise
            return reply["Body"].read(), reply["ETag"]
        path = Path(uri)
        if not path.is_file():
            return None, None
        data = path.read_bytes()
        return data, hashlib.sha256(data).hexdigest()

    def write_bytes_if(self, uri: str, data: bytes, *, tag: str | None, content_type: str) -> None:
        """Write only over the object read with `tag` (None: only where there is none yet):
        S3's conditional PutObject (If-Match, If-None-Match); a local file under a lock.
        Another writer in between is a Conflict, and nothing is written."""
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            condition = {"IfMatch": tag} if tag else {"IfNoneMatch": "*"}
            try:
                with _s3_errors(uri, "write"):
                    self.s3.put_object(
                        Bucket=obj.bucket, Key=obj.key, Body=data, ContentType=content_type,
                        **condition,
                    )  # fmt: skip
            except StorageError as exc:
                if exc.status in (409, 412):
                    raise Conflict(f"{uri} changed while this wrote it") from exc
                raise
            return
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(f".{path.name}.lock")
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError as exc:
            raise Conflict(f"{uri} is being written by another process ({lock})") from exc
        try:
            if self.read_tagged(uri)[1] != tag:
                raise Conflict(f"{uri} changed while this wrote it")
            self.write_bytes(uri, data)
        finally:
            os.close(fd)
            lock.unlink()

    def download(self, uri: str, path: Path, *, version: str | None = None) -> None:
        """`version`: an S3 object's version id (the one uploaded revision); None: the latest."""
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            extra = {"ExtraArgs": {"VersionId": version}} if version else {}
            with _s3_errors(uri, "read"):
                self.s3.download_file(obj.bucket, obj.key, str(path), **extra)
            return
        if not Path(uri).is_file():
            raise StorageError(f"{uri}: no such file", hint="check the path")
        shutil.copyfile(uri, path)

    def upload(self, path: Path, uri: str, *, content_type: str | None = None) -> None:
        """Copy a finished local file to its destination in one step (no partial object)."""
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            extra = {"ExtraArgs": {"ContentType": content_type}} if content_type else {}
            with _s3_errors(uri, "write"):
                self.s3.upload_file(str(path), obj.bucket, obj.key, **extra)
            return
        target = Path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    @contextmanager
    def local_copy(self, uri: str, *, version: str | None = None) -> Iterator[Path]:
        """A local path holding `uri`'s bytes for the duration: S3 objects (of `version`, if
        given) are downloaded to a temporary file (removed afterwards), local files are used in
        place."""
        if not is_s3(uri):
            if not Path(uri).is_file():
                raise StorageError(f"{uri}: no such file", hint="check the path")
            yield Path(uri)
            return
        with tempfile.TemporaryDirectory(prefix="textbatch-") as tmp:
            # a fixed name: a key's last segment may be up to 1,024 bytes, a file name 255
            path = Path(tmp) / LOCAL_COPY_NAME
            self.download(uri, path, version=version)
            yield path

    @contextmanager
    def open_read(self, uri: str, *, version: str | None = None) -> Iterator[BinaryIO]:
        """A buffered binary stream of `uri`'s bytes, read once from start to end (an S3 object
        is streamed, never stored on disk)."""
        if not is_s3(uri):
            if not Path(uri).is_file():
                raise StorageError(f"{uri}: no such file", hint="check the path")
            with open(uri, "rb") as f:
                yield f
            return
        obj = S3Uri.parse(uri)
        with _s3_errors(uri, "read"):
            extra = {"VersionId": version} if version else {}
            body = self.s3.get_object(Bucket=obj.bucket, Key=obj.key, **extra)["Body"]
        with io.BufferedReader(_Body(body), buffer_size=1 << 20) as stream:
            yield stream

    def size(self, uri: str, *, version: str | None = None) -> int:
        if is_s3(uri):
            return int(self.head(uri, version=version)["ContentLength"])
        return Path(uri).stat().st_size

    def list(self, prefix: str) -> list[str]:
        """Every object (or file) under a prefix (or directory), as URIs, in key order."""
        if not is_s3(prefix):
            root = Path(prefix)
            return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        location = S3Uri.parse(prefix)
        found = []
        with _s3_errors(prefix, "list"):
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=location.bucket, Prefix=location.key
            )
            for page in pages:
                found += [f"s3://{location.bucket}/{o['Key']}" for o in page.get("Contents", [])]
        return found

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under a prefix (or directory); returns how many objects."""
        found = self.list(prefix)
        if not is_s3(prefix):
            shutil.rmtree(prefix, ignore_errors=True)
            return len(found)
        location = S3Uri.parse(prefix)
        for start in range(0, len(found), 1000):
            keys = [S3Uri.parse(uri).key for uri in found[start : start + 1000]]
            with _s3_errors(prefix, "delete"):
                self.s3.delete_objects(
                    Bucket=location.bucket, Delete={"Objects": [{"Key": k} for k in keys]}
                )
        return len(found)

    def head(self, uri: str, *, version: str | None = None) -> dict[str, Any]:
        """An S3 object's metadata (size, version, ETag)."""
        obj = S3Uri.parse(uri)
        extra = {"VersionId": version} if version else {}
        with _s3_errors(uri, "read"):
            return self.s3.head_object(Bucket=obj.bucket, Key=obj.key, **extra)

    def delete(self, uri: str) -> None:
        """Remove an object or file if it is there (a stale error report)."""
        if is_s3(uri):
            obj = S3Uri.parse(uri)
            with _s3_errors(uri, "delete"):
                self.s3.delete_object(Bucket=obj.bucket, Key=obj.key)
            return
        Path(uri).unlink(missing_ok=True)

    def publisher(self, input_uri: str, version: str | None, outcome: list[str]) -> Publisher:
        """How a job writes the outcome of revision `version` of `input_uri` (its CSV, summary,
        clusters, error report: `outcome`): guarded where S3 can tell revisions apart."""
        guarded = version and is_s3(input_uri)  # the S3 client only where it is needed
        client = self.s3 if guarded else None
        return Publisher(
            self, publication_for(client, input_uri=input_uri, version=version, outcome=outcome)
        )

    def exists(self, uri: str) -> bool:
        if not is_s3(uri):
            return Path(uri).exists()
        try:
            self.head(uri)
        except StorageError as exc:
            if exc.status == 404:
                return False
            raise
        return True


class Conflict(StorageError):
    """A conditional write lost to another writer: read again and decide again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="another process changed it first: run the command again")


class Publisher:
    """A file's outcome objects written for one revision (textbatch_contract.revisions): on S3,
    for a versioned upload, only while that revision is the key's newest, each write and delete
    conditional (raises Superseded); elsewhere (local files, the latest) as plain writes."""

    def __init__(self, storage: Storage, publication: Publication | None) -> None:
        self._storage = storage
        self._publication = publication

    def _call(self, uri: str, action: str, method: str, *args: Any, **kwargs: Any) -> Any:
        with _s3_errors(uri, action):
            try:
                return getattr(self._publication, method)(*args, **kwargs)
            except OutcomeConflict as exc:
                raise StorageError(f"cannot {action} {uri}: {exc}", hint="retry the job") from exc

    def begin(self) -> None:
        if self._publication is not None:
            self._call(self._publication.input_uri, "check the revision of", "begin")

    def put_json(self, uri: str, document: Any) -> None:
        if self._publication is None:
            self._storage.write_json(uri, document)
        else:
            self._call(uri, "write", "put_json", uri, document)

    def put_file(self, path: Path, uri: str, *, content_type: str) -> None:
        if self._publication is None:
            self._storage.upload(path, uri, content_type=content_type)
        else:
            self._call(uri, "write", "put_file", uri, path, content_type=content_type)

    def delete(self, uri: str) -> None:
        if self._publication is None:
            self._storage.delete(uri)
        else:
            self._call(uri, "delete", "delete", uri)

    def write(self, uri: str, write: Any) -> Any:
        """`write(condition)`: the caller's own write of `uri` with the S3 condition it must
        carry (`{}` when unguarded), retried as the publication decides."""
        if self._publication is None:
            return write({})
        return self._call(uri, "write", "guarded", uri, write)


@contextmanager
def _s3_errors(uri: str, action: str) -> Iterator[None]:
    """Turn boto3's errors into a StorageError that says which object and what to check."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError as exc:
        raise StorageError(
            f"cannot {action} {uri}: no AWS credentials found",
            hint="configure credentials (aws configure, AWS_PROFILE) or run `textbatch local env`",
        ) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        missing = code in ("NoSuchKey", "404", "NoSuchBucket")
        raise StorageError(
            f"cannot {action} {uri}: {code or status} {error.get('Message', '')}".strip(),
            hint=_S3_HINTS.get(code, "check the bucket, key, region and permissions"),
            status=404 if missing else status,
        ) from exc
    except BotoCoreError as exc:
        raise StorageError(
            f"cannot {action} {uri}: {exc}", hint="check the endpoint, region and network"
        ) from exc


_S3_HINTS = {
    "NoSuchBucket": "the bucket does not exist: check its name and the region",
    "NoSuchKey": "no object has that key: check the key (keys are case-sensitive)",
    "404": "no object has that key: check the key (keys are case-sensitive)",
    "AccessDenied": "the credentials in use may not access it: check IAM permissions",
    "403": "the credentials in use may not access it: check IAM permissions",
}


class _Body(io.RawIOBase):
    """botocore's streaming body as a raw stream, so that it can be buffered."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()
