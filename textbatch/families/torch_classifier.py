"""Inference with a torch network: batches on the best device, float16 on CUDA (GPU-only:
the CUDA branches of textbatch.model.device)."""

from __future__ import annotations

import numpy as np
import torch

from textbatch.families.base import ProbabilitiesOnly, RowNotes
from textbatch.model.artifacts import Model
from textbatch.model.device import autocast, select_device, to_device
from textbatch.model.networks import load_network
from textbatch.model.transformer import unknown_tokens


class NetworkClassifier(ProbabilitiesOnly):
    def __init__(self, model: Model, *, device: torch.device | None = None) -> None:
        self.labels = model.labels
        self.torch_device = device or select_device()
        self.device = self.torch_device.type
        self.network = load_network(model.spec, model.weights).to(self.torch_device)
        self.batch_size = model.config.predict_batch_size
        self.transformer = model.transformer

    def prepare(self, texts: list[str]) -> np.ndarray:
        """Token ids (in a worker process: no torch)."""
        return self.transformer.encode(texts)

    def notes(self, prepared: np.ndarray) -> RowNotes:
        return RowNotes(unseen=unknown_tokens(prepared, self.transformer.seq_len))

    @torch.inference_mode()
    def predict(self, encoded: np.ndarray) -> np.ndarray:
        ids = torch.from_numpy(encoded)
        out = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        for start in range(0, len(ids), self.batch_size):
            batch = to_device(ids[start : start + self.batch_size], self.torch_device)
            with autocast(self.torch_device):
                logits = self.network(batch)
            out[start : start + len(batch)] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return out
