"""A tiny BERT-style encoder directory, made here, for the encoder family's tests: a WordPiece
tokenizer trained on the texts given (Hugging Face `tokenizers`), a config.json of two layers of
width 32 and random weights saved as model.safetensors, laid out as Hugging Face saves a
BertModel (the position ids buffer and the pooler included, which the family leaves out)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from textbatch.model import pretrained
from textbatch.model.artifacts import sha256
from textbatch.model.encoder import EncoderClassifier

SHAPE = {
    "vocab_size": 0,  # the tokenizer's
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}


def make_tokenizer(texts: list[str], vocab_size: int = 400) -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # [PAD] first: id 0
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    )
    return tokenizer


def write_tiny_encoder(directory: Path, texts: list[str], *, seed: int = 0) -> str:
    """The encoder directory; returns its model.safetensors's sha256 (the pin)."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(texts)
    tokenizer.save(str(directory / pretrained.TOKENIZER))
    shape = {**SHAPE, "vocab_size": tokenizer.get_vocab_size()}
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", **shape}
    (directory / pretrained.CONFIG).write_text(json.dumps(config, indent=2))
    torch.manual_seed(seed)
    bert = EncoderClassifier(shape, 2, 0.0).bert
    weights = {k: v.detach().numpy().copy() for k, v in bert.state_dict().items()}
    weights["embeddings.position_ids"] = np.arange(shape["max_position_embeddings"])[None]
    hidden = shape["hidden_size"]
    weights["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    save_file(weights, str(directory / pretrained.WEIGHTS))
    return sha256(directory / pretrained.WEIGHTS)
