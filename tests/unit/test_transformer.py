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


def test_fast_tokenizer_lowercases_words_and_keeps_punctuation_apart() -> None:
    from textbatch.model.transformer import FastTokenizer

    assert FastTokenizer().tokenize(['The fridge didn\'t cool, "at all"!']) == [
        ["the", "fridge", "didn", "'", "t", "cool", ",", '"', "at", "all", '"', "!"]
    ]


def test_bigram_buckets_follow_the_vocabulary_and_skip_padding() -> None:
    transformer = TextTransformer.fit([["a", "b", "c"]], vocab_size=10, seq_len=4, ngram_buckets=7)
    assert (transformer.rows, transformer.width) == (5 + 7, 4 + 3)
    encoded = transformer.encode_tokens([["a", "b", "c"], ["a", "b", "c"], ["c"]])
    assert encoded.shape == (3, 7)
    tokens, bigrams = encoded[:, :4], encoded[:, 4:]
    assert (bigrams[0, :2] >= 5).all()
    assert (bigrams[0, :2] < 12).all()
    assert bigrams[0, 2] == PAD_ID  # "c" + padding is no bigram
    assert (bigrams[2] == PAD_ID).all()
    np.testing.assert_array_equal(encoded[0], encoded[1])  # the hash is stable
    loaded = TextTransformer.from_json(transformer.to_json())
    assert (loaded.ngram_buckets, loaded.tokenizer_name) == (7, "spacy")
    np.testing.assert_array_equal(loaded.encode_tokens([["a", "b", "c"]]), encoded[:1])
    assert tokens[0, 0] == transformer.ids["a"]
