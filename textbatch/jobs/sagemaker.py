"""The train job under SageMaker's training contract: the GPU image runs as a SageMaker training
job as well as a Batch job (the blog trained on SageMaker).

SageMaker starts the image as `<entrypoint> train`, so `textbatch train` with neither --config
nor --data looks for SageMaker's directories under /opt/ml:

- `input/config/hyperparameters.json`: the model config. SageMaker passes every value as a
  string; each is read as JSON where it parses (`"3"` -> 3, `"true"` -> true, `"\\"nbsvm\\""` ->
  "nbsvm") and kept as the string otherwise (`nbsvm`).
- `input/data/training/`: the `training` channel, holding one labelled CSV (.csv or .csv.gz).
- `model/`: the model version is published there as by `--out DIR` (`models/<version>/` and
  `models/latest.json`); SageMaker uploads it as model.tar.gz.
- `output/failure`: on an error, its message (SageMaker's FailureReason), and the exit code 1.

Hyperparameters named `sagemaker_*` (the SDK's own, in script mode) are not model config.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textbatch.errors import InputError, TextbatchError

ROOT_ENV = "TEXTBATCH_SAGEMAKER_ROOT"  # /opt/ml unless set (the tests mount or make another)
RESERVED = "sagemaker_"  # the SageMaker SDK's own hyperparameters (script mode): not model config
CHANNEL = "training"
FAILURE_LIMIT = 1024  # SageMaker keeps the first 1,024 characters of the failure reason


@dataclass(frozen=True)
class SageMakerPaths:
    root: Path

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def channel(self) -> Path:
        return self.root / "input" / "data" / CHANNEL

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    def present(self) -> bool:
        return self.hyperparameters.is_file()

    def config(self) -> dict[str, Any]:
        """The model config the hyperparameters describe."""
        try:
            raw = json.loads(self.hyperparameters.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{self.hyperparameters}: not JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise InputError(f"{self.hyperparameters}: expected an object of hyperparameters")
        return {k: _value(v) for k, v in raw.items() if not k.startswith(RESERVED)}

    def data(self) -> Path:
        """The one labelled CSV of the training channel."""
        if not self.channel.is_dir():
            raise InputError(
                f"no `{CHANNEL}` channel: {self.channel} is missing",
                hint=f"give the training job an input channel named {CHANNEL!r}",
            )
        files = sorted(
            p for p in self.channel.rglob("*") if p.name.lower().endswith((".csv", ".csv.gz"))
        )
        if len(files) != 1:
            raise InputError(
                f"the `{CHANNEL}` channel holds {len(files)} CSV files "
                f"({', '.join(p.name for p in files[:5]) or 'none'}); one is needed",
                hint="point the channel at one labelled CSV (its S3 key, not a prefix of many)",
            )
        return files[0]

    def write_config(self, directory: Path) -> Path:
        path = directory / "config.json"
        path.write_text(json.dumps(self.config()), encoding="utf-8")
        return path

    def fail(self, error: TextbatchError) -> None:
        self.failure.parent.mkdir(parents=True, exist_ok=True)
        self.failure.write_text(str(error)[:FAILURE_LIMIT], encoding="utf-8")


def sagemaker_paths() -> SageMakerPaths:
    return SageMakerPaths(Path(os.environ.get(ROOT_ENV, "/opt/ml")))


def _value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
