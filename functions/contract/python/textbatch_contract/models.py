"""Which model version a location means: the trigger (to route the job by the version's
manifest) and the predict job (to load it) resolve it the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textbatch_contract.paths import join

MANIFEST = "manifest.json"
LATEST = "latest.json"  # {"version": ..., "path": "models/<version>/"}, moved last on publish


def resolve_version(
    location: str, read_json: Callable[[str], Any]
) -> tuple[str, dict[str, Any] | None] | None:
    """(version location, its manifest): the location itself when it holds a manifest, else
    the version that `models/latest.json` under it (or `latest.json` in it) names, with None
    for a manifest that is not there (a broken pointer); None when no version is named.
    `read_json` returns a document or None: a Storage's, or textbatch_contract.documents'
    with an S3 client."""
    manifest = read_json(join(location, MANIFEST))
    if isinstance(manifest, dict):
        return location, manifest
    models = join(location, "models")
    for pointer_uri in (join(models, LATEST), join(location, LATEST)):
        pointer = read_json(pointer_uri)
        if isinstance(pointer, dict) and "version" in pointer:
            version = join(models, str(pointer["version"]))
            manifest = read_json(join(version, MANIFEST))
            return version, manifest if isinstance(manifest, dict) else None
    return None
