"""Which queue a predict job goes to, and which model version it uses.

The model version's manifest says whether the model wants a GPU (`wants_gpu`): CPU-friendly
models go to the CPU queue (cheaper instances, Spot), the others to the GPU queue. The stage
setting `predict_queue` ("gpu" or "cpu") overrides that. The job is given the version the
decision was made for, so a model published in between cannot land on the wrong queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MANIFEST, LATEST = "manifest.json", "latest.json"
# S3 answers 403 for a missing key when the caller may not list the bucket.
_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound", "AccessDenied", "403"}


@dataclass(frozen=True)
class Route:
    kind: str  # "gpu" or "cpu"
    queue: str
    definition: str
    model: str  # the model location the job gets: the resolved version when one was found
    reason: str


def choose_route(settings: Any, s3: Any) -> Route:
    """`settings` is the trigger's TriggerSettings (queues, definitions, predict_queue)."""
    found = find_manifest(s3, settings.model_location)
    model = found[0] if found else settings.model_location
    if settings.predict_queue in ("gpu", "cpu"):
        kind = settings.predict_queue
        reason = f"the stage setting predict_queue is {kind}"
    elif found is None:
        kind, reason = "cpu", "no model at the model location yet: the job will report it"
    else:
        manifest = found[1]
        wants_gpu = bool(manifest.get("wants_gpu", True))
        kind = "gpu" if wants_gpu else "cpu"
        reason = (
            f"model {manifest.get('version')} ({manifest.get('architecture')}) "
            f"{'wants' if wants_gpu else 'does not want'} a GPU"
        )
    return Route(
        kind=kind,
        queue=getattr(settings, f"{kind}_job_queue"),
        definition=getattr(settings, f"{kind}_job_definition"),
        model=model,
        reason=reason,
    )


def find_manifest(s3: Any, location: str) -> tuple[str, dict[str, Any]] | None:
    """(version location, manifest) for a version directory, or for a location whose
    models/latest.json names one; None when neither exists."""
    base = location.rstrip("/") + "/"
    manifest = _read_json(s3, base + MANIFEST)
    if manifest is not None:
        return base, manifest
    pointer = _read_json(s3, base + "models/" + LATEST)
    if pointer is None or "version" not in pointer:
        return None
    version = f"{base}models/{pointer['version']}/"
    manifest = _read_json(s3, version + MANIFEST)
    return (version, manifest) if manifest is not None else None


def _read_json(s3: Any, uri: str) -> dict[str, Any] | None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in _MISSING:
            return None
        raise
    loaded = json.loads(body)
    return loaded if isinstance(loaded, dict) else None
