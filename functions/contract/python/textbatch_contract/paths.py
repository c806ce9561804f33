"""Locations as the jobs write them: local paths and s3:// URIs alike, as plain strings."""

from __future__ import annotations

from pathlib import Path


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def join(location: str, name: str) -> str:
    """`name` inside a directory or an S3 prefix (`s3://bucket` is the bucket's root)."""
    if is_s3(location):
        bucket, _, key = location[5:].partition("/")
        prefix = key if not key or key.endswith("/") else key + "/"
        return f"s3://{bucket}/{prefix}{name}"
    return str(Path(location) / name)


def basename(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]
