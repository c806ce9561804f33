from __future__ import annotations

import numpy as np
import pytest

from textbatch.errors import ArtifactError
from textbatch.model.transformer import PAD_ID, UNK_ID, TextTransformer, Tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer("en")


def test_spacy_tokenizes_punctuation_contractions_and_lowercases(tokenizer: Tokenizer) -> None:
    [tokens] = tokenizer.tokenize(['The fridge didn\'t cool, "at all"!\n Call me.'])
    assert tokens == [
        "the",
        "fridge",
        "did",
        "n't",
        "cool",
        ",",
        '"',
        "at",
        "all",
        '"',
        "!",
        "call",
        "me",
        ".",
    ]


def test_vocabulary_keeps_the_most_frequent_tokens_in_a_stable_order() -> None:
    transformer = TextTransformer.fit(
        [["b", "a", "c"], ["a", "b"], ["a", "d"]], vocab_size=3, seq_len=4
    )
    # a x3, b x2, then c and d tie at 1: broken alphabetically, d falls outside the vocabulary
    assert transformer.tokens == ["<pad>", "<unk>", "a", "b", "c"]


def test_sequences_are_cut_and_padded_to_seq_len() -> None:
    transformer = TextTransformer.fit([["a", "b", "c"]], vocab_size=10, seq_len=3)
    encoded = transformer.encode_tokens([["a"], ["c", "b", "a", "b"], ["zzz", "a"]])
    ids = transformer.ids
    assert encoded.dtype == np.int64
    assert encoded.tolist() == [
        [ids["a"], PAD_ID, PAD_ID],
        [ids["c"], ids["b"], ids["a"]],
        [UNK_ID, ids["a"], PAD_ID],
    ]


def test_json_round_trip_encodes_identically(tokenizer: Tokenizer) -> None:
    texts = ["Water leaked, café floor ruined.", "Sparks at the socket!", ""]
    transformer = TextTransformer.fit(tokenizer.tokenize(texts), vocab_size=50, seq_len=8)
    loaded = TextTransformer.from_json(transformer.to_json())
    assert loaded.tokens == transformer.tokens
    np.testing.assert_array_equal(loaded.encode(texts), transformer.encode(texts))
    assert '"café"' in transformer.to_json()  # readable JSON, not escaped or pickled


def test_a_foreign_json_is_rejected() -> None:
    with pytest.raises(ArtifactError, match="format"):
        TextTransformer.from_json('{"format": "other", "tokens": [], "seq_len": 1, "lang": "en"}')
    with pytest.raises(ArtifactError, match="not a textbatch transformer"):
        TextTransformer.from_json('{"format": "textbatch.transformer/1"}')
