"""The `nb_linear` family: a bag of distinct word and hashed-bigram ids, scaled by naive-Bayes
log-count ratios, one linear layer (Wang & Manning's NB weighting). Trained with the networks'
loop (torch); predicted in numpy (textbatch.model.linear), on every core of a CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from textbatch.families.base import ProbabilitiesOnly, RowNotes
from textbatch.families.networks import Network
from textbatch.model.linear import LinearScorer, nb_ratios
from textbatch.model.transformer import TextTransformer, unknown_tokens

if TYPE_CHECKING:
    from textbatch.model.artifacts import Model


class NbLinear(Network):
    def start(self, network: Any, spec: Any, x_train: Any, y_train: Any) -> None:
        """The ratios from the training rows only, never validation."""
        import torch

        ratios = nb_ratios(
            x_train.numpy(), y_train.numpy(), rows=spec.vocab_rows, n_classes=spec.n_classes
        )
        network.ratios.copy_(torch.from_numpy(ratios))

    def classifier(self, model: Model) -> LinearClassifier:
        return LinearClassifier(model)


class LinearClassifier(ProbabilitiesOnly):
    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        self.batch_size = model.config.predict_batch_size
        self.transformer = model.transformer
        weights = model.weights
        self.scorer = LinearScorer(weights["weight.weight"], weights["ratios"], weights["bias"])

    explains = True

    def prepare(self, texts: list[str]) -> tuple[np.ndarray, RowNotes]:
        encoded = self.transformer.encode(texts)  # type: ignore[union-attr]
        out = np.empty((len(encoded), len(self.labels)), dtype=np.float32)
        for start in range(0, len(encoded), self.batch_size):
            out[start : start + self.batch_size] = self.scorer.predict_proba(
                encoded[start : start + self.batch_size]
            )
        transformer: TextTransformer = self.transformer  # type: ignore[assignment]
        why = None
        if self.why_terms:
            why = self.scorer.why(encoded, out.argmax(axis=1), self.why_terms, transformer)
        return out, RowNotes(unseen=unknown_tokens(encoded, transformer.seq_len), why=why)

    def predict(self, prepared: tuple[np.ndarray, RowNotes]) -> np.ndarray:
        return prepared[0]

    def notes(self, prepared: tuple[np.ndarray, RowNotes]) -> RowNotes:
        return prepared[1]
