"""The vectorised n-gram hasher against a plain-Python reference of the same definition."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest

from textbatch.model.hashing import HashingFeaturizer

MASK = (1 << 64) - 1
P, Q = 0x100000001B3, 0x9E3779B97F4A7C15
# word bytes: ASCII letters, digits, '_' and any non-ASCII byte; punctuation: one ASCII mark
TOKEN = re.compile(rb"[a-z0-9_\x80-\xff]+|[!-/:-@\[-^`{-~]")


def mix(h: int) -> int:
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & MASK
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & MASK
    return h ^ (h >> 33)


def reference_hash(token: bytes) -> int:
    return mix(sum(b * pow(P, i, 1 << 64) for i, b in enumerate(token)) & MASK)


def reference_counts(texts: list[str], ngrams: int, buckets: int) -> list[Counter[int]]:
    out = []
    for text in texts:
        hashes = [reference_hash(t) for t in TOKEN.findall(text.lower().encode("utf-8"))]
        columns = [h % buckets for h in hashes]
        gram = hashes
        for n in range(2, ngrams + 1):
            gram = [
                mix((g * Q + h) & MASK) for g, h in zip(gram[:-1], hashes[n - 1 :], strict=False)
            ]
            columns += [g % buckets for g in gram]
        out.append(Counter(columns))
    return out


TEXTS = [
    "The oven caught fire, didn't it?!",
    "",
    "Café au lait — naïve résumé; ÜBER 42_x",
    "tabs\tand\r\nCRLF   spaces\x0bvertical",
    "nul\0inside a text",
    "fire fire fire",
    "   ",
    "e-mail: a.b@c.org (100%)",
]


def as_counters(featurizer: HashingFeaturizer, texts: list[str]) -> list[Counter[int]]:
    counts = featurizer.counts(texts)
    out: list[Counter[int]] = [Counter() for _ in texts]
    for row, column, count in zip(counts.row, counts.column, counts.count, strict=True):
        out[row][int(column)] += int(count)
    return out


def test_counts_match_the_reference_for_hostile_texts() -> None:
    for ngrams in (1, 2, 3):
        featurizer = HashingFeaturizer(ngrams=ngrams, buckets=1 << 20)
        assert as_counters(featurizer, TEXTS) == reference_counts(TEXTS, ngrams, 1 << 20)


def test_a_token_hashes_the_same_wherever_it_stands() -> None:
    hashes, rows = HashingFeaturizer().token_hashes(["fire in the oven", "oven FIRE"])
    assert rows.tolist() == [0, 0, 0, 0, 1, 1]
    assert hashes[0] == hashes[5]
    assert hashes[3] == hashes[4]
    assert len(set(hashes[:4].tolist())) == 4


def test_large_batches_are_counted_in_parts_with_the_same_result() -> None:
    featurizer = HashingFeaturizer(buckets=1 << 24)  # 256 rows fit a 32-bit key
    texts = [f"claim {i}: the boiler leaked {i % 13} times" for i in range(700)]
    whole = featurizer.counts(texts)
    assert whole.n_rows == 700
    assert whole.row.max() == 699
    one_by_one = [featurizer.counts([t]) for t in texts]
    assert np.array_equal(whole.column, np.concatenate([c.column for c in one_by_one]))
    assert np.array_equal(whole.count, np.concatenate([c.count for c in one_by_one]))


def test_featurizer_round_trips_through_json() -> None:
    from textbatch.model.artifacts import load_transformer

    featurizer = HashingFeaturizer(ngrams=3, buckets=1 << 12)
    assert load_transformer(featurizer.to_json()) == featurizer


def test_a_huge_batch_is_hashed_alike_and_leaves_no_large_tables_behind() -> None:
    from textbatch.model import hashing

    featurizer = HashingFeaturizer(buckets=1 << 20)
    small = featurizer.counts(["the oven caught fire"])
    huge = "x " * (hashing._CACHED_POWERS // 2 + 10) + "the oven caught fire"
    assert len(huge.encode()) > hashing._CACHED_POWERS
    hashes, _ = featurizer.token_hashes([huge])
    tail, _ = featurizer.token_hashes(["the oven caught fire"])
    assert np.array_equal(hashes[-4:], tail)  # the same token hashes, wherever they stand
    assert len(hashing._powers) <= hashing._CACHED_POWERS
    assert np.array_equal(featurizer.counts(["the oven caught fire"]).column, small.column)


def test_words_only_tokens_drop_punctuation_and_one_letter_words() -> None:
    """tokens="words" (knn.json): the tokens scikit-learn's default pattern would keep, near
    enough; a saved featurizer keeps the setting, and one saved before it takes every token."""
    every = HashingFeaturizer(ngrams=1, buckets=1 << 20)
    words = HashingFeaturizer(ngrams=1, buckets=1 << 20, tokens="words")
    text = "A pump: it leaked, twice! x 42 ok"
    hashes, _ = every.token_hashes([text])
    kept, _ = words.token_hashes([text])
    names = ["pump", "it", "leaked", "twice", "42", "ok"]
    assert len(hashes) == 11  # a, the three marks, x and the six words
    assert list(kept) == list(every.token_hashes([" ".join(names)])[0])
    assert HashingFeaturizer.from_dict(json.loads(words.to_json()), source="t") == words
    old = {"format": "textbatch.hashing/1", "ngrams": 1, "buckets": 1 << 20}
    assert HashingFeaturizer.from_dict(old, source="t").tokens == "all"
    with pytest.raises(ValueError, match="tokens must be one of all, words"):
        HashingFeaturizer(tokens="letters")
