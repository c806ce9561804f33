"""Class probabilities for texts from a loaded model, in batches, on the best device.

The NB-weighted linear model predicts in numpy, so its predict job never imports torch (about
1.5 s of every process start); every other model runs its torch network.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from textbatch.model.artifacts import Model
from textbatch.model.linear import LinearScorer


class Classifier(Protocol):
    labels: list[str]
    device: str  # where inference runs: "cpu" or "cuda"

    def predict_ids(self, encoded: np.ndarray) -> np.ndarray:
        """(rows, n_classes) float32 probabilities for texts encoded by the model's transformer."""
        ...


def classifier_for(model: Model) -> Classifier:
    if model.spec.architecture == "nb_linear":
        return LinearClassifier(model)
    from textbatch.model.network_inference import NetworkClassifier

    return NetworkClassifier(model)


class LinearClassifier:
    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        self.batch_size = model.config.predict_batch_size
        weights = model.weights
        self.scorer = LinearScorer(weights["weight.weight"], weights["ratios"], weights["bias"])

    def predict_ids(self, encoded: np.ndarray) -> np.ndarray:
        out = np.empty((len(encoded), len(self.labels)), dtype=np.float32)
        for start in range(0, len(encoded), self.batch_size):
            out[start : start + self.batch_size] = self.scorer.predict_proba(
                encoded[start : start + self.batch_size]
            )
        return out
