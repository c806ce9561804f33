"""A location's model versions and which one serves: `<location>/models/latest.json`.

Every train run publishes its version under `models/<version>/`; the pointer moves to it only
when the promotion gate lets it (textbatch.jobs.train), or when an operator promotes or rolls
back (`textbatch models`). The pointer keeps the versions it pointed to before, newest first,
so that a rollback goes back to the previously promoted one. Every move is a conditional write
(S3's If-Match / If-None-Match; a lock for a local directory): two operators, or an operator
and a train job, cannot interleave; the loser is told to run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from textbatch_contract.models import (
    LATEST,
    MANIFEST,
    METRICS,
    MODELS_DIR,
    REPORT,
    UnsafeName,
    plain_name,
)

from textbatch.errors import ArtifactError
from textbatch.io.storage import Storage, join

HISTORY_KEPT = 100  # earlier versions the pointer remembers
METRICS_NAMES = ("accuracy", "macro_f1")  # what the promotion gate may compare


@dataclass(frozen=True)
class Pointer:
    """What `models/latest.json` says, and the tag its next conditional write must name."""

    version: str | None
    previous: list[str] = field(default_factory=list)  # promoted before it, newest first
    promoted_at: str | None = None
    reason: str | None = None
    tag: str | None = None  # None: there is no pointer yet


@dataclass(frozen=True)
class Gate:
    """The promotion gate's decision about one new version."""

    promoted: bool
    reason: str
    mode: str  # auto, always or never
    metric: str
    tolerance: float
    new: float
    current: float | None = None  # the current version's score on the same rows
    current_version: str | None = None
    rows: int = 0
    on: str = "validation"  # the rows: the run's validation split, or the --eval-data file

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def decide(
    *,
    mode: str,
    metric: str,
    tolerance: float,
    new: float,
    current: float | None,
    current_version: str | None,
    rows: int,
    on: str,
    min_rows: int = 1,
) -> Gate:
    """Promote when asked to always, never when asked never; otherwise the first version of a
    location, or one that scores at least the current's minus the tolerance on at least
    `min_rows` held-out rows (fewer cannot tell two versions apart: held back)."""

    def gate(promoted: bool, reason: str) -> Gate:
        return Gate(promoted, reason, mode, metric, tolerance, new, current, current_version,
                    rows, on)  # fmt: skip

    if mode == "always":
        return gate(True, "--promote always")
    if mode == "never":
        return gate(False, "--promote never")
    if current_version is None:
        return gate(True, "the location's first version")
    if current is None or rows < min_rows:
        return gate(
            False,
            f"only {rows} held-out rows ({on}) to compare it with the current version "
            f"{current_version}; the gate needs {min_rows} (promotion_min_rows): give "
            "--eval-data FILE with more labelled rows, or --promote always",
        )
    promoted = new >= current - tolerance
    verdict = "at least as good as" if promoted else "worse than"
    return gate(
        promoted,
        f"{metric} {new:.4f} on {rows} rows ({on}) is {verdict} the current version "
        f"{current_version}'s {current:.4f}" + (f" (tolerance {tolerance:g})" if tolerance else ""),
    )


def score(truth: list[str], predicted: list[str], metric: str) -> float:
    """Accuracy, or the macro-F1 over the labels the rows have (both versions alike: a label
    one of them does not know counts as a wrong prediction)."""
    if metric == "accuracy":
        return round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4)
    f1s = []
    for label in sorted(set(truth)):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        predicted_n, actual_n = predicted.count(label), truth.count(label)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / actual_n
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return round(sum(f1s) / len(f1s), 4)


def pointer_uri(location: str) -> str:
    return join(join(location, MODELS_DIR), LATEST)


def version_uri(location: str, version: str) -> str:
    return join(join(location, MODELS_DIR), plain_name(version, what="the version"))


def read_pointer(location: str, storage: Storage) -> Pointer:
    data, tag = storage.read_tagged(pointer_uri(location))
    if data is None:
        return Pointer(None)
    try:
        raw = json.loads(data)
        version = plain_name(raw["version"], what="the version")
        previous = [plain_name(v, what="an earlier version") for v in raw.get("previous", [])]
    except (ValueError, KeyError, TypeError, UnsafeName) as exc:
        raise ArtifactError(
            f"{pointer_uri(location)} is not a textbatch pointer ({exc})",
            hint="promote a version with `textbatch models promote` to write it again",
        ) from exc
    return Pointer(version, previous, raw.get("promoted_at"), raw.get("reason"), tag)


def move_pointer(
    location: str, version: str, storage: Storage, *, seen: Pointer, reason: str
) -> Pointer:
    """Point `models/latest.json` at `version`, over the pointer as `seen` (a Conflict if it
    changed since). The version it pointed to goes to the front of `previous`."""
    if not storage.exists(join(version_uri(location, version), MANIFEST)):
        raise ArtifactError(
            f"no version {version} under {join(location, 'models')}",
            hint="list the versions with `textbatch models list LOCATION`",
        )
    previous = [v for v in ([seen.version] if seen.version else []) + seen.previous]
    previous = [v for v in dict.fromkeys(previous) if v != version][:HISTORY_KEPT]
    moved = Pointer(version, previous, datetime.now(UTC).isoformat(timespec="seconds"), reason)
    document = {
        "version": version,
        "path": f"models/{version}/",  # what the readers of the contract resolve
        "promoted_at": moved.promoted_at,
        "reason": reason,
        "previous": previous,
    }
    storage.write_bytes_if(
        pointer_uri(location),
        json.dumps(document, indent=2).encode(),
        tag=seen.tag,
        content_type="application/json",
    )
    return moved


def rollback(location: str, storage: Storage) -> tuple[Pointer, Pointer]:
    """Back to the version promoted before the current one: (before, after)."""
    seen = read_pointer(location, storage)
    if not seen.previous:
        raise ArtifactError(
            f"{pointer_uri(location)} names no earlier version to roll back to",
            hint="promote a version by name: `textbatch models promote LOCATION VERSION`",
        )
    target, rest = seen.previous[0], seen.previous[1:]
    moved = move_pointer(
        location,
        target,
        storage,
        seen=Pointer(None, rest, tag=seen.tag),  # the rolled-back version is not kept
        reason=f"rolled back from {seen.version}",
    )
    return seen, moved


@dataclass(frozen=True)
class VersionInfo:
    version: str
    created_at: str
    architecture: str
    wants_gpu: bool
    data: str | None
    train_rows: int | None
    validation: dict[str, Any]
    gate: dict[str, Any] | None
    files: list[str]
    report: str | None  # where its report.html is (versions before the reports have none)


def versions(location: str, storage: Storage) -> list[VersionInfo]:
    """Every version published under the location, oldest first."""
    prefix = join(location, MODELS_DIR)
    names = sorted(
        {
            uri[len(prefix) :].lstrip("/").split("/", 1)[0]
            for uri in storage.list(prefix.rstrip("/") + "/")
            if uri.endswith("/" + MANIFEST)
        }
    )
    found = [describe(location, name, storage) for name in names]
    # a version's name has the second it was made; two made in one second go by created_at
    return sorted(found, key=lambda info: (_when(info.created_at), info.version))


def _when(created_at: str) -> str:
    """A sortable UTC time from a manifest's created_at (with or without milliseconds)."""
    try:
        return datetime.fromisoformat(created_at).astimezone(UTC).isoformat(timespec="microseconds")
    except (TypeError, ValueError):
        return created_at


def describe(location: str, version: str, storage: Storage) -> VersionInfo:
    uri = version_uri(location, version)
    manifest = storage.read_json_or_none(join(uri, MANIFEST))
    if not isinstance(manifest, dict):
        raise ArtifactError(
            f"no version {version} under {join(location, 'models')}",
            hint="list the versions with `textbatch models list LOCATION`",
        )
    metrics = storage.read_json_or_none(join(uri, METRICS)) or {}
    return VersionInfo(
        version=version,
        created_at=str(manifest.get("created_at")),
        architecture=str(manifest.get("architecture")),
        wants_gpu=bool(manifest.get("wants_gpu")),
        data=metrics.get("data"),
        train_rows=metrics.get("train_rows"),
        validation=metrics.get("validation", {}),
        gate=metrics.get("promotion"),
        files=sorted(manifest.get("files", {})),
        report=join(uri, REPORT) if REPORT in manifest.get("files", {}) else None,
    )
