"""What rebuilds a model apart from its weights: saved as network.json with every version.

Every family writes one: its architecture, its feature rows and classes; the networks' own
hyperparameters follow (a family that has no network keeps its config's values, unused)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textbatch.config import ModelConfig


@dataclass(frozen=True)
class ModelSpec:
    architecture: str  # the family's name (textbatch.families)
    vocab_rows: int  # feature rows: embedding rows (padding and unknown included), or columns
    embed_size: int
    n_classes: int
    dropout: float
    kernel_size: int
    hidden_size: int
    n_layers: int
    bidirectional: bool
    # the encoder family's: its encoder's shape (config.json's keys), source and files' sha256
    encoder: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, config: ModelConfig, *, vocab_rows: int, embed_size: int) -> ModelSpec:
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
