"""The trigger's settings: its function's environment (set by the CDK app), or a deployed stack's
outputs (`textbatch submit`), named by textbatch_contract.settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textbatch_contract import settings

PREDICT_QUEUES = ("auto", "gpu", "cpu")


@dataclass(frozen=True)
class TriggerSettings:
    gpu_job_queue: str
    gpu_job_definition: str
    cpu_job_queue: str
    cpu_job_definition: str
    predict_queue: str  # "auto": the model's manifest decides; "gpu" or "cpu": always that one
    results_location: str  # s3://bucket/prefix/ under which outputs mirror the input's folders
    model_location: str  # a model version, or a location holding models/latest.json
    idempotency_table: str
    split_threshold_bytes: int  # larger files are split -> predicted as an array -> merged
    part_bytes: int  # the size of one part (one array child)
    cluster_prefix: str  # uploads under it are clustered (the cluster job), not classified

    def __post_init__(self) -> None:
        if self.predict_queue not in PREDICT_QUEUES:
            raise RuntimeError(
                f"PREDICT_QUEUE is {self.predict_queue!r}; expected one of {PREDICT_QUEUES}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TriggerSettings:
        """The function's environment, as the CDK app sets it."""
        try:
            return cls.from_fields(settings.fields_from(env, settings.ENV_VARS))
        except KeyError as exc:
            raise RuntimeError(f"the trigger's environment lacks {exc.args[0]}") from exc

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str]) -> TriggerSettings:
        """A deployed stack's outputs (`textbatch submit`); KeyError names missing ones."""
        return cls.from_fields(settings.fields_from(outputs, settings.STACK_OUTPUTS))

    @classmethod
    def from_fields(cls, values: Mapping[str, str]) -> TriggerSettings:
        typed: dict[str, Any] = dict(values)
        for field in ("split_threshold_bytes", "part_bytes"):
            typed[field] = int(typed[field])
        return cls(**typed)
