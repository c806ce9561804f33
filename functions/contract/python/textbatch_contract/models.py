"""Which model version a location means: the trigger (to route the job by the version's
manifest) and the predict job (to load it) resolve it the same way."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from textbatch_contract.paths import join

MANIFEST = "manifest.json"
MODELS_DIR = "models"  # a model location's versions: <location>/models/<version>/
LATEST = "latest.json"  # {"version": ..., "path": "models/<version>/"}, moved last on publish
# what every version holds besides its weights and its manifest (`textbatch train` writes them)
SPEC, TRANSFORMER, CONFIG = "network.json", "transformer.json", "config.json"
LABELS, METRICS = "labels.json", "metrics.json"
DOCUMENTS = (SPEC, TRANSFORMER, CONFIG, LABELS, METRICS)
REPORT = "report.html"  # a person's view of the version (versions before it have none)
# the manifest's keys that the trigger reads to route a version's predict jobs
ARCHITECTURE, WANTS_GPU = "architecture", "wants_gpu"
# A version's name and its files' names in the manifest are joined to paths: plain names only
# (no `/`, no `..`, no leading dot), so a changed pointer or manifest cannot reach outside.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class UnsafeName(ValueError):
    """A name from a model's documents that is not a plain file or version name."""


def plain_name(name: Any, *, what: str) -> str:
    """`name` when it is a plain name (letters, digits, `.`, `_`, `-`; no `..`), else
    UnsafeName naming `what` it was."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or ".." in name:
        raise UnsafeName(f"{what} {name!r} is not a plain name")
    return name


def weights_name(name: Any) -> str:
    """A weights file name (the config's `save_name`) that the loader will accept: a plain
    name, and none of the version's other files."""
    plain_name(name, what="the weights file name")
    if name in (MANIFEST, *DOCUMENTS, REPORT):
        raise UnsafeName(f"the weights file name {name!r} is the name of another file of a version")
    return name


def resolve_version(
    location: str, read_json: Callable[[str], Any]
) -> tuple[str, dict[str, Any] | None] | None:
    """(version location, its manifest): the location itself when it holds a manifest, else
    the version that `models/latest.json` under it (or `latest.json` in it) names, with None
    for a manifest that is not there (a broken pointer); None when no version is named.
    UnsafeName when the pointer names something other than a plain version name.
    `read_json` returns a document or None: a Storage's, or textbatch_contract.documents'
    with an S3 client."""
    manifest = read_json(join(location, MANIFEST))
    if isinstance(manifest, dict):
        return location, manifest
    models = join(location, MODELS_DIR)
    for pointer_uri in (join(models, LATEST), join(location, LATEST)):
        pointer = read_json(pointer_uri)
        if isinstance(pointer, dict) and "version" in pointer:
            name = plain_name(pointer["version"], what=f"the version in {pointer_uri}")
            version = join(models, name)
            manifest = read_json(join(version, MANIFEST))
            return version, manifest if isinstance(manifest, dict) else None
    return None
