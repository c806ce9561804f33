"""Class probabilities for texts from a loaded model, in two steps that split the work.

`prepare(texts)` runs in the predict job's forked workers (textbatch.model.encoding), on every
core; `predict(prepared)` runs in the job's main process. For a torch network, prepare encodes
texts to token ids and predict runs the network in batches on the best device (the GPU when
there is one). The numpy models (`nbsvm`, `nb_linear`) do all their work in prepare, so their
predict jobs never import torch (about 1.5 s of every process start) and score on every core.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from textbatch.model.artifacts import Model
from textbatch.model.knn import KnnIndex, KnnScorer
from textbatch.model.linear import LinearScorer
from textbatch.model.nbsvm import NbsvmScorer, NbsvmTables


class Classifier(Protocol):
    labels: list[str]
    device: str  # where inference runs: "cpu" or "cuda"
    extra_columns: tuple[str, ...]  # output columns after the probabilities (knn: neighbors)

    def prepare(self, texts: list[str]) -> Any:
        """The part that runs in a worker process (no torch call)."""
        ...

    def predict(self, prepared: Any) -> np.ndarray:
        """(rows, n_classes) float32 probabilities from what prepare returned."""
        ...

    def extras(self, prepared: Any) -> list[list[str]]:
        """Each row's cells of extra_columns (none for most models)."""
        ...


class ProbabilitiesOnly:
    """A classifier that writes no column but the prediction and the probabilities."""

    extra_columns: tuple[str, ...] = ()

    def extras(self, prepared: Any) -> list[list[str]]:
        return []


def classifier_for(model: Model) -> Classifier:
    if model.spec.architecture == "nbsvm":
        return NbsvmClassifier(model)
    if model.spec.architecture == "knn":
        return KnnClassifier(model)
    if model.spec.architecture == "nb_linear":
        return LinearClassifier(model)
    from textbatch.model.network_inference import NetworkClassifier

    return NetworkClassifier(model)


def predict_texts(classifier: Classifier, texts: list[str]) -> np.ndarray:
    """Both steps in this process."""
    return classifier.predict(classifier.prepare(texts))


class NbsvmClassifier(ProbabilitiesOnly):
    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        self.scorer = NbsvmScorer(model.transformer, tables_from_weights(model.weights))  # type: ignore[arg-type]

    def prepare(self, texts: list[str]) -> np.ndarray:
        return self.scorer.predict_proba(texts)

    def predict(self, prepared: np.ndarray) -> np.ndarray:
        return prepared


def tables_to_weights(tables: NbsvmTables) -> dict[str, np.ndarray]:
    return {
        "columns": tables.columns,
        "numerator": tables.numerator,
        "denominator": tables.denominator,
        "bias": tables.bias,
        "temperature": np.array([tables.temperature], dtype=np.float64),
        "n_classes": np.array([tables.n_classes], dtype=np.int64),
    }


def tables_from_weights(weights: dict[str, np.ndarray]) -> NbsvmTables:
    return NbsvmTables(
        columns=weights["columns"],
        numerator=weights["numerator"],
        denominator=weights["denominator"],
        bias=weights["bias"],
        temperature=float(weights["temperature"][0]),
        n_classes=int(weights["n_classes"][0]),
    )


class LinearClassifier(ProbabilitiesOnly):
    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        self.batch_size = model.config.predict_batch_size
        self.transformer = model.transformer
        weights = model.weights
        self.scorer = LinearScorer(weights["weight.weight"], weights["ratios"], weights["bias"])

    def prepare(self, texts: list[str]) -> np.ndarray:
        encoded = self.transformer.encode(texts)  # type: ignore[union-attr]
        out = np.empty((len(encoded), len(self.labels)), dtype=np.float32)
        for start in range(0, len(encoded), self.batch_size):
            out[start : start + self.batch_size] = self.scorer.predict_proba(
                encoded[start : start + self.batch_size]
            )
        return out

    def predict(self, prepared: np.ndarray) -> np.ndarray:
        return prepared


class KnnClassifier:
    """The nearest labelled rows: probabilities, and the rows they came from (`neighbors`)."""

    extra_columns = ("neighbors",)

    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        index = KnnIndex.from_weights(dict(model.weights))
        self.scorer = KnnScorer(
            model.transformer,  # type: ignore[arg-type]
            index,
            k=model.config.n_neighbors,
            n_classes=len(model.labels),
        )

    def prepare(self, texts: list[str]) -> tuple[np.ndarray, list[str]]:
        return self.scorer.predict(texts)

    def predict(self, prepared: tuple[np.ndarray, list[str]]) -> np.ndarray:
        return prepared[0]

    def extras(self, prepared: tuple[np.ndarray, list[str]]) -> list[list[str]]:
        return [[refs] for refs in prepared[1]]
