"""The classifiers: the blog's CNN and (bi)LSTM, built from a NetworkSpec. No I/O here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from textbatch.config import ModelConfig
from textbatch.model.transformer import PAD_ID


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a network before loading its weights."""

    architecture: str  # "cnn" or "lstm"
    vocab_rows: int  # embedding rows, padding and unknown included
    embed_size: int
    n_classes: int
    dropout: float
    kernel_size: int
    hidden_size: int
    n_layers: int
    bidirectional: bool

    @classmethod
    def from_config(cls, config: ModelConfig, *, vocab_rows: int, embed_size: int) -> NetworkSpec:
        return cls(
            architecture=config.network,
            vocab_rows=vocab_rows,
            embed_size=embed_size,
            n_classes=config.n_classes,
            dropout=config.dropout,
            kernel_size=config.kernel_size,
            hidden_size=config.hidden_size,
            n_layers=config.n_layers,
            bidirectional=config.bidirectional,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CnnClassifier(nn.Module):
    """The blog's CNN: embed, one convolution of `kernel_size` tokens, ReLU, max over time."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.embedding = nn.Embedding(spec.vocab_rows, spec.embed_size, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(spec.embed_size, spec.embed_size, spec.kernel_size)
        self.dropout = nn.Dropout(spec.dropout)
        self.decoder = nn.Linear(spec.embed_size, spec.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).transpose(1, 2)  # (batch, embed, seq)
        x = torch.relu(self.conv(x)).amax(dim=2)
        return self.decoder(self.dropout(x))


class LstmClassifier(nn.Module):
    """The blog's LSTM: embed, (bi)LSTM over the real tokens only, classify the final states."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.embedding = nn.Embedding(spec.vocab_rows, spec.embed_size, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(spec.dropout)
        self.lstm = nn.LSTM(
            spec.embed_size,
            spec.hidden_size,
            num_layers=spec.n_layers,
            bidirectional=spec.bidirectional,
            dropout=spec.dropout if spec.n_layers > 1 else 0.0,
            batch_first=True,
        )
        directions = 2 if spec.bidirectional else 1
        self.decoder = nn.Linear(spec.hidden_size * directions, spec.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # Sequences are padded at the end; packing keeps padding out of the final states.
        lengths = (ids != PAD_ID).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.dropout(self.embedding(ids)), lengths, batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        last = hidden[-2:] if self.lstm.bidirectional else hidden[-1:]
        return self.decoder(self.dropout(torch.cat(list(last), dim=1)))


class BagClassifier(nn.Module):
    """fastText-style: the mean of the embeddings of a text's words and hashed word bigrams,
    then one linear layer. Cheap on a CPU, and strong on long texts."""

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        # EmbeddingBag averages without materialising (batch, ids, embed); padding is left out.
        # Sparse gradients: a batch touches a few thousand of the (many) rows.
        self.embedding = nn.EmbeddingBag(
            spec.vocab_rows, spec.embed_size, mode="mean", padding_idx=PAD_ID, sparse=True
        )
        self.dropout = nn.Dropout(spec.dropout)
        self.decoder = nn.Linear(spec.embed_size, spec.n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.dropout(self.embedding(ids)))


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "cnn": CnnClassifier,
    "lstm": LstmClassifier,
    "bag": BagClassifier,
}


def build_network(spec: NetworkSpec) -> nn.Module:
    return ARCHITECTURES[spec.architecture](spec)
