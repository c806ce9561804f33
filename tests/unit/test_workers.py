from __future__ import annotations

import numpy as np

from textbatch.model.transformer import FastTokenizer, TextTransformer
from textbatch.model.workers import prepared


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


def test_workers_follow_the_jobs_vcpus_not_the_hosts_cores(monkeypatch) -> None:
    import os

    from textbatch.model.workers import VCPUS_ENV, default_workers

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setenv(VCPUS_ENV, "1")
    assert default_workers() == 1
    monkeypatch.setenv(VCPUS_ENV, "64")
    assert default_workers() == min(cores, 8)  # never more than this process may use
    monkeypatch.delenv(VCPUS_ENV)
    assert default_workers() == min(cores, 8)


def test_texts_in_flight_are_bounded_by_weight_as_well_as_by_count(monkeypatch) -> None:
    """Big chunks wait for the workers: the queued weight stays at most IN_FLIGHT_WEIGHT (or
    one chunk), so memory follows the bytes, not the row count."""
    from textbatch.model import workers

    monkeypatch.setattr(workers, "IN_FLIGHT_WEIGHT", 10)
    pulled = []

    def items():
        for i in range(12):
            pulled.append(i)
            yield i, ["x" * 6]  # weight 6: two would exceed 10

    done = []
    for tag, result in prepared(items(), len, workers=2, weight=lambda texts: len(texts[0])):
        done.append(tag)
        assert result == 1
        assert len(pulled) - len(done) <= 1, (pulled, done)
    assert done == list(range(12))


def test_chunks_end_at_a_row_count_or_a_size_and_a_huge_row_is_alone() -> None:
    from textbatch.io.csv_table import CsvRecord
    from textbatch.jobs.predict import FIELD_WEIGHT, record_chunks

    records = [CsvRecord(row=i, line=i + 1, fields=["id", "x" * n]) for i, n in enumerate(
        [10, 10, 10, 1000, 10, 10, 10, 10, 10]
    )]  # fmt: skip
    budget = 4 * (12 + 2 * FIELD_WEIGHT) + 4  # four short rows fit, with their fields' weight
    sizes = [[r.row for r in chunk] for chunk in record_chunks(records, 4, budget)]
    assert sizes == [[0, 1, 2], [3], [4, 5, 6, 7], [8]]


def test_a_chunk_of_many_narrow_columns_weighs_its_fields_not_only_their_characters() -> None:
    """20,000 one-character columns: 40 KB a row in the file, about 1.1 MB a row in memory."""
    import sys

    from textbatch.io.csv_table import CsvRecord
    from textbatch.jobs.predict import CHUNK_CHARS, CHUNK_ROWS, record_chunks

    row = [chr(97 + i % 26) + str(i) for i in range(20_000)]  # distinct objects, as parsed
    records = [CsvRecord(row=i, line=i + 1, fields=list(row)) for i in range(40)]
    chunks = list(record_chunks(records, CHUNK_ROWS, CHUNK_CHARS))
    assert len(chunks) > 1
    in_memory = sys.getsizeof(row) + sum(sys.getsizeof(f) for f in row)
    for chunk in chunks:  # a chunk holds at most about CHUNK_CHARS bytes of Python objects
        assert len(chunk) * in_memory <= 1.5 * CHUNK_CHARS
