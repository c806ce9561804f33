"""Class probabilities for texts from a loaded model, in batches, on the best device."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from textbatch.model.artifacts import Model
from textbatch.model.device import autocast, select_device, to_device


class Classifier:
    def __init__(self, model: Model, *, device: torch.device | None = None) -> None:
        self.model = model
        self.labels = model.labels
        self.device = device or select_device()
        self.network = model.network.to(self.device).eval()
        self.batch_size = model.config.predict_batch_size

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), n_classes) float32 probabilities, rows in the order of `texts`."""
        return self.predict_ids(self.model.transformer.encode(texts))

    @torch.inference_mode()
    def predict_ids(self, encoded: np.ndarray) -> np.ndarray:
        """Probabilities for texts already encoded by the model's transformer."""
        ids = torch.from_numpy(encoded)
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        for start in range(0, len(ids), self.batch_size):
            batch = to_device(ids[start : start + self.batch_size], self.device)
            with autocast(self.device):
                logits = self.network(batch)
            out[start : start + len(batch)] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return out
