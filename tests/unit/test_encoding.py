from __future__ import annotations

import numpy as np

from textbatch.model.encoding import prepared
from textbatch.model.transformer import FastTokenizer, TextTransformer


def test_workers_prepare_like_the_caller_and_keep_the_order() -> None:
    texts = [f"claim {i}: the oven caught fire, water {i % 7}" for i in range(500)]
    transformer = TextTransformer.fit(
        FastTokenizer().tokenize(texts),
        vocab_size=50,
        seq_len=12,
        tokenizer_name="fast",
        ngram_buckets=97,
    )
    items = [(i, texts[i : i + 37]) for i in range(0, len(texts), 37)]
    alone = list(prepared(iter(items), transformer.encode, workers=1))
    forked = list(prepared(iter(items), transformer.encode, workers=2))
    assert [tag for tag, _ in forked] == [tag for tag, _ in items]
    for (_, a), (_, b) in zip(alone, forked, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        np.concatenate([ids for _, ids in forked]), transformer.encode(texts)
    )
