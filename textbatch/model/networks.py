"""The torch networks: the blog's CNN and (bi)LSTM, the bag model, the NB-weighted linear model."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from textbatch.model.spec import ModelSpec
from textbatch.model.transformer import PAD_ID


class CnnClassifier(nn.Module):
    """The blog's CNN: embed, one convolution of `kernel_size` tokens, ReLU, max over time."""

    def __init__(self, spec: ModelSpec) -> None:
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

    def __init__(self, spec: ModelSpec) -> None:
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

    def __init__(self, spec: ModelSpec) -> None:
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


class NbLinearClassifier(nn.Module):
    """A linear model over a text's distinct word and bigram ids, each weighted by its
    naive-Bayes log-count ratio (fixed when training starts); see textbatch.model.linear,
    which predicts with the same arithmetic in numpy."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.weight = nn.Embedding(spec.vocab_rows, spec.n_classes, sparse=True)
        nn.init.ones_(self.weight.weight)  # start as naive Bayes itself
        self.bias = nn.Parameter(torch.zeros(spec.n_classes))
        self.register_buffer("ratios", torch.zeros(spec.vocab_rows, spec.n_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        distinct, _ = ids.sort(dim=1)
        distinct[:, 1:][distinct[:, 1:] == distinct[:, :-1]] = PAD_ID
        present = (distinct != PAD_ID).float()
        scale = present / present.sum(dim=1, keepdim=True).clamp(min=1).sqrt()
        features = self.weight(distinct) * nn.functional.embedding(distinct, self.ratios)
        return (features * scale.unsqueeze(2)).sum(dim=1) + self.bias


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "cnn": CnnClassifier,
    "lstm": LstmClassifier,
    "bag": BagClassifier,
    "nb_linear": NbLinearClassifier,
}


def build_network(spec: ModelSpec) -> nn.Module:
    return ARCHITECTURES[spec.architecture](spec)


def load_network(spec: ModelSpec, weights: dict[str, np.ndarray]) -> nn.Module:
    """A network in eval mode with a loaded version's weights."""
    network = build_network(spec)
    network.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
    return network.eval()
