"""Per-stage settings (config/stages/<stage>.json), read once and passed down as one object."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

STAGES_DIR = Path(__file__).resolve().parent.parent / "config" / "stages"


class SettingsError(ValueError):
    """A stage settings file is missing or invalid."""


@dataclass(frozen=True)
class StageSettings:
    stage: str
    prefix: str  # every physical name starts with it, so stages live side by side
    account: str | None  # None: an environment-agnostic stack (synth needs no credentials)
    region: str | None
    gpu_instance_types: tuple[str, ...]
    cpu_instance_classes: tuple[str, ...]
    gpu_max_vcpus: int
    cpu_max_vcpus: int
    use_spot: bool  # a Spot environment first in each queue, on-demand behind it
    nat_gateways: int  # 0: public subnets without inbound access; >0: private subnets behind NAT
    log_retention_days: int
    removal_policy: str  # "destroy" (buckets emptied and deleted with the stack) or "retain"
    alarm_email: str | None
    predict_timeout_minutes: int
    train_timeout_minutes: int
    job_attempts: int
    model_version: str | None  # None: predict jobs use models/latest.json
    predict_queue: str  # "auto": the model's manifest decides (wants_gpu); or "gpu" / "cpu"
    # "auto": `train --submit` picks by the config's family (one that trains with torch: the
    # GPU queue and image; nbsvm, knn: the CPU queue and image); or "gpu" / "cpu"
    train_queue: str
    split_threshold_mb: float  # larger uploads run as split -> array of parts -> merge
    part_size_mb: float  # one part per this many MB (one array child each)
    # uploads under this prefix of the predict bucket are clustered (the cluster job), not
    # classified
    cluster_prefix: str
    # a job RUNNABLE this long because no instance can run it (no capacity, a quota, a resource
    # requirement no instance type meets) is cancelled; the failure reporter writes the report
    runnable_timeout_minutes: int
    # output cells starting with = + - @ (tab, CR) get a leading ' so that a spreadsheet shows
    # them as text rather than running them as formulas; changes such cells (e.g. -1.5)
    neutralise_formulas: bool
    # the column of an upload with the submitter's category, for review routing (rows where
    # it differs from a confident prediction are `disagrees`); a file without it is classified
    # without comparison, and an upload's metadata compare-column names its own; null: none
    compare_column: str | None
    # the linear families' `why` column (their strongest n-grams per row; see the speed
    # benchmark for its price)
    why_column: bool

    @property
    def split_threshold_bytes(self) -> int:
        return int(self.split_threshold_mb * 1_000_000)

    @property
    def part_bytes(self) -> int:
        return int(self.part_size_mb * 1_000_000)

    @property
    def retain(self) -> bool:
        return self.removal_policy == "retain"


def load_stage(stage: str, directory: Path = STAGES_DIR) -> StageSettings:
    path = directory / f"{stage}.json"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.json"))
        raise SettingsError(f"no settings for stage {stage!r} ({path}); known stages: {known}")
    raw = json.loads(path.read_text())
    names = {f.name for f in fields(StageSettings)} - {"stage"}
    if set(raw) != names:
        missing, extra = sorted(names - set(raw)), sorted(set(raw) - names)
        raise SettingsError(f"{path}: missing keys {missing}, unknown keys {extra}")
    for key in ("gpu_instance_types", "cpu_instance_classes"):
        raw[key] = tuple(raw[key])
    settings = StageSettings(stage=stage, **raw)
    _validate(settings, path)
    return settings


def _validate(s: StageSettings, path: Path) -> None:
    problems = []
    if not re.fullmatch(r"[a-z][a-z0-9-]{2,30}", s.prefix):
        problems.append("prefix: 3-31 lower-case letters, digits or '-', starting with a letter")
    if s.removal_policy not in ("destroy", "retain"):
        problems.append("removal_policy: 'destroy' or 'retain'")
    if not all(t.startswith(("g4dn.", "g5.", "g6.", "p3.", "p4d.")) for t in s.gpu_instance_types):
        problems.append("gpu_instance_types: GPU instance types (g4dn, g5, g6, p3, p4d)")
    for key in ("gpu_max_vcpus", "cpu_max_vcpus", "log_retention_days", "job_attempts"):
        if getattr(s, key) < 1:
            problems.append(f"{key}: >= 1")
    if not 0 < s.part_size_mb <= s.split_threshold_mb:
        problems.append("part_size_mb: > 0 and at most split_threshold_mb")
    if not re.fullmatch(r"[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/", s.cluster_prefix):
        problems.append("cluster_prefix: a key prefix ending in '/', e.g. 'cluster/'")
    if s.predict_queue not in ("auto", "gpu", "cpu"):
        problems.append("predict_queue: 'auto', 'gpu' or 'cpu'")
    if s.train_queue not in ("auto", "gpu", "cpu"):
        problems.append("train_queue: 'auto', 'gpu' or 'cpu'")
    if not 10 <= s.runnable_timeout_minutes <= 1440:
        problems.append("runnable_timeout_minutes: 10 to 1440 (AWS Batch's limits)")
    if not 1 <= s.job_attempts <= 10:
        problems.append("job_attempts: 1 to 10 (AWS Batch's limit)")
    if s.compare_column is not None and not (
        isinstance(s.compare_column, str) and s.compare_column.strip()
    ):
        problems.append("compare_column: a column name, or null")
    if problems:
        raise SettingsError(f"{path}: " + "; ".join(problems))
