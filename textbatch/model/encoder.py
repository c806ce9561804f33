"""A BERT-style encoder in torch, with a classification head: the `encoder` family's network.

The modules carry the names of Hugging Face's BertModel (`embeddings.word_embeddings`,
`encoder.layer.N.attention.self.query`, ...), so a pretrained `model.safetensors` loads into
`EncoderClassifier.bert` as it is, with no conversion and without the transformers package.
Attention is torch's scaled_dot_product_attention (fused kernels on CUDA). A text's vector is the
mean of its tokens' last hidden states (the pooling all-MiniLM-L6-v2 was trained with), then
dropout and one linear layer. Rows are padded at the end; a batch is cut to its longest row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# pretrained keys that the encoder has no use for: the position ids buffer of older
# transformers releases and the pooler (trained for next-sentence prediction; we mean-pool)
UNUSED_PRETRAINED = ("embeddings.position_ids", "pooler.")


class Embeddings(nn.Module):
    def __init__(self, shape: dict[str, Any], dropout: float) -> None:
        super().__init__()
        hidden = shape["hidden_size"]
        self.word_embeddings = nn.Embedding(shape["vocab_size"], hidden)
        self.position_embeddings = nn.Embedding(shape["max_position_embeddings"], hidden)
        self.token_type_embeddings = nn.Embedding(shape["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=shape["layer_norm_eps"])
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)
        x = x + self.token_type_embeddings.weight[0]  # one segment: type 0 everywhere
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.query(x)),
            split(self.key(x)),
            split(self.value(x)),
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return out.transpose(1, 2).reshape(batch, length, hidden)


class Output(nn.Module):
    """dense, dropout, the residual, LayerNorm (BERT's post-norm)."""

    def __init__(self, inner: int, hidden: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.dense = nn.Linear(inner, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, shape: dict[str, Any], dropout: float) -> None:
        super().__init__()
        hidden = shape["hidden_size"]
        self.self = SelfAttention(hidden, shape["num_attention_heads"], dropout)
        self.output = Output(hidden, hidden, shape["layer_norm_eps"], dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, hidden: int, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))  # the exact (erf) GELU, as BERT's "gelu"


class Layer(nn.Module):
    def __init__(self, shape: dict[str, Any], dropout: float) -> None:
        super().__init__()
        hidden, inner = shape["hidden_size"], shape["intermediate_size"]
        self.attention = Attention(shape, dropout)
        self.intermediate = Intermediate(hidden, inner)
        self.output = Output(inner, hidden, shape["layer_norm_eps"], dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class Stack(nn.Module):
    def __init__(self, shape: dict[str, Any], dropout: float) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(shape, dropout) for _ in range(shape["num_hidden_layers"]))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, mask)
        return x


class Bert(nn.Module):
    def __init__(self, shape: dict[str, Any], dropout: float) -> None:
        super().__init__()
        self.pad_id = shape["pad_token_id"]
        self.embeddings = Embeddings(shape, dropout)
        self.encoder = Stack(shape, dropout)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The last hidden states and the real tokens' mask, the batch cut to its longest row."""
        present = ids != self.pad_id
        length = max(1, int(present.sum(dim=1).max()))
        ids, present = ids[:, :length], present[:, :length]
        attend = present[:, None, None, :]  # (batch, 1, 1, keys): no query attends to padding
        return self.encoder(self.embeddings(ids), attend), present


class EncoderClassifier(nn.Module):
    """The encoder, the mean of the real tokens' states, dropout, one linear layer."""

    def __init__(self, shape: dict[str, Any], n_classes: int, dropout: float) -> None:
        super().__init__()
        self.bert = Bert(shape, dropout=0.1)  # BERT's own dropout inside; `dropout` on the head
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(shape["hidden_size"], n_classes)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        states, present = self.bert(ids)
        weights = present.unsqueeze(2).to(states.dtype)
        return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(ids)))

    def parameter_groups(self, config: Any) -> list[dict[str, Any]]:
        """The optimizer's groups: the encoder at the learning rate, the new head (a random
        start) at head_lr_factor times it (the loop reads lr_scale)."""
        return [
            {"params": list(self.bert.parameters()), "lr_scale": 1.0},
            {"params": list(self.classifier.parameters()), "lr_scale": config.head_lr_factor},
        ]

    def load_pretrained(self, weights: dict[str, np.ndarray]) -> None:
        """A pretrained encoder's weights into `bert`; every one of its parameters must be
        there, with its shape (a missing or misshapen one is an error, not a random start)."""
        state = {
            name.removeprefix("bert."): torch.from_numpy(np.ascontiguousarray(array))
            for name, array in weights.items()  # a classifier's checkpoint: bert.embeddings...
            if not name.removeprefix("bert.").startswith(UNUSED_PRETRAINED)
            and not name.startswith(("classifier.", "cls."))  # another task's head
        }
        own = self.bert.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = [name for name in own if name in state and state[name].shape != own[name].shape]
        if missing or unexpected or wrong:
            found = {"missing": missing, "unexpected": unexpected, "wrong shape": wrong}
            problems = [
                f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
                for label, names in found.items()
                if names
            ]
            raise ValueError("; ".join(problems))
        self.bert.load_state_dict(state)
