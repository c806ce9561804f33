"""What a network is, apart from its weights: saved as network.json with every model version."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from textbatch.config import ModelConfig


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a network before loading its weights."""

    architecture: str  # "cnn", "lstm", "bag" or "nb_linear"
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
