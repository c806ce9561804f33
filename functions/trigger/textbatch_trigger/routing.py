"""Which queue a predict job goes to, and which model version it uses.

The model version's manifest says whether the model wants a GPU (`wants_gpu`): CPU-friendly
models go to the CPU queue (cheaper instances, Spot), the others to the GPU queue. The stage
setting `predict_queue` ("gpu" or "cpu") overrides that. The job is given the version the
decision was made for, so a model published in between cannot land on the wrong queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textbatch_contract.documents import read_json
from textbatch_contract.models import ARCHITECTURE, WANTS_GPU, UnsafeName, resolve_version


@dataclass(frozen=True)
class Route:
    kind: str  # "gpu" or "cpu"
    queue: str
    definition: str
    model: str  # the model location the job gets: the resolved version when one was found
    reason: str


def choose_route(settings: Any, s3: Any) -> Route:
    """`settings` is the trigger's TriggerSettings (queues, definitions, predict_queue)."""
    try:
        found = resolve_version(settings.model_location, lambda uri: read_json(s3, uri))
    except UnsafeName:
        found = None  # a pointer the job will refuse, with its report
    if found and found[1] is None:
        found = None  # a pointer to a version without a manifest: the job will report it
    model = found[0].rstrip("/") + "/" if found else settings.model_location
    if settings.predict_queue in ("gpu", "cpu"):
        kind = settings.predict_queue
        reason = f"the stage setting predict_queue is {kind}"
    elif found is None:
        kind, reason = "cpu", "no model at the model location yet: the job will report it"
    else:
        manifest = found[1]
        wants_gpu = bool(manifest.get(WANTS_GPU, True))
        kind = "gpu" if wants_gpu else "cpu"
        reason = (
            f"model {manifest.get('version')} ({manifest.get(ARCHITECTURE)}) "
            f"{'wants' if wants_gpu else 'does not want'} a GPU"
        )
    return Route(
        kind=kind,
        queue=getattr(settings, f"{kind}_job_queue"),
        definition=getattr(settings, f"{kind}_job_definition"),
        model=model,
        reason=reason,
    )
