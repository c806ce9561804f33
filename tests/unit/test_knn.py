"""The knn model's numpy side against plain dense arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.model import knn
from textbatch.model.hashing import HashingFeaturizer

TEXTS = [
    "the kettle caught fire and smoke filled the kitchen",
    "smoke and sparks from the kettle plug",
    "water leaked from the boiler onto the floor",
    "the boiler leaks water every night",
    "the door hinge squeaks and the handle is loose",
    "loose handle on the oven door",
    "scratch on the paint of the fridge door",
    "the fridge arrived with a dent and a scratch",
]
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3])
QUERIES = ["sparks and smoke from my kettle", "a dent in the fridge paint", "zzz qqq", ""]


def dense(v: knn.Vectors, width: int) -> np.ndarray:
    out = np.zeros((v.n_rows, width))
    out[v.row, v.feature] = v.value
    return out


@pytest.fixture
def index() -> knn.KnnIndex:
    featurizer = HashingFeaturizer(ngrams=2, buckets=1 << 12)
    counts = featurizer.counts(TEXTS)
    columns, idf = knn.fit_features(counts)
    rows = knn.strongest(knn.vectors(counts, columns, idf), 6)
    parts = [(rows, LABELS, np.arange(1, 9), np.zeros(8))]
    return knn.build_index(parts, columns, idf, ("train.csv",))


def matrix(index: knn.KnnIndex) -> np.ndarray:
    x = np.zeros((index.n_rows, len(index.columns)))
    for f in range(len(index.columns)):
        lo, hi = index.indptr[f], index.indptr[f + 1]
        x[index.rows[lo:hi], f] = index.values[lo:hi]
    return x


def query_vectors(index: knn.KnnIndex, texts: list[str]) -> knn.Vectors:
    counts = HashingFeaturizer(ngrams=2, buckets=1 << 12).counts(texts)
    return knn.vectors(counts, index.columns, index.idf)


def test_rows_are_unit_length_and_keep_their_strongest_features() -> None:
    counts = HashingFeaturizer(ngrams=2, buckets=1 << 12).counts(TEXTS)
    columns, idf = knn.fit_features(counts)
    full = knn.vectors(counts, columns, idf)
    kept = knn.strongest(full, 3)
    assert np.allclose(np.linalg.norm(dense(full, len(columns)), axis=1), 1.0, atol=1e-6)
    assert np.allclose(np.linalg.norm(dense(kept, len(columns)), axis=1), 1.0, atol=1e-6)
    assert np.bincount(kept.row).max() == 3
    for r in range(len(TEXTS)):  # the kept features are the row's largest (ties either way)
        value_of = dict(zip(full.feature[full.row == r], full.value[full.row == r], strict=True))
        kept_values = sorted((value_of[f] for f in kept.feature[kept.row == r]), reverse=True)
        assert kept_values == sorted(value_of.values(), reverse=True)[:3]


@pytest.mark.parametrize("chunk_rows", [1, 3, 100])
def test_an_index_built_from_chunks_of_texts_is_the_one_built_from_every_texts_counts(
    index, chunk_rows
) -> None:
    featurizer = HashingFeaturizer(ngrams=2, buckets=1 << 12)
    columns, frequency = knn.frequencies(featurizer, TEXTS, chunk_rows=chunk_rows)
    expected_columns, expected_idf = knn.fit_features(featurizer.counts(TEXTS))
    assert np.array_equal(columns, expected_columns)
    weights = knn.idf(frequency, len(TEXTS))
    assert np.array_equal(weights, expected_idf)
    built = knn.index_texts(
        featurizer, TEXTS, columns, weights, 6, labels=LABELS, source_rows=np.arange(1, 9),
        source_names=("train.csv",), chunk_rows=chunk_rows,
    )  # fmt: skip
    for name in knn.ARRAYS:
        assert np.array_equal(getattr(built, name), getattr(index, name)), name
        assert getattr(built, name).dtype == getattr(index, name).dtype, name
    # two sets of texts' frequencies merged are those of all of them
    merged = knn.merge_frequencies(
        knn.frequencies(featurizer, TEXTS[:5]), knn.frequencies(featurizer, TEXTS[5:])
    )
    assert np.array_equal(merged[0], columns)
    assert np.array_equal(merged[1], frequency)


def test_neighbours_and_similarities_are_the_dense_products(index, monkeypatch) -> None:
    monkeypatch.setattr(knn, "POSTINGS_AT_ONCE", 3)  # a few postings at a time: parts add up
    q = query_vectors(index, QUERIES)
    found = knn.nearest(index, q, 3)
    expected = dense(q, len(index.columns)) @ matrix(index).T
    for i in range(2):
        assert np.allclose(found.similarity[i], np.sort(expected[i])[::-1][:3], atol=1e-6)
        assert set(found.index[i]) == set(np.argsort(-expected[i])[:3])
    assert (found.similarity[2:] == 0).all()  # nothing in common with any row


def test_votes_weigh_by_inverse_distance_and_unknown_texts_get_the_label_shares(index) -> None:
    found = knn.nearest(index, query_vectors(index, QUERIES), 3)
    probs = knn.vote(index, found, 4)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert probs[0].argmax() == 0  # kettle smoke
    assert probs[1].argmax() == 3  # fridge dent
    weights = 1 / np.maximum(1 - found.similarity[0].astype(np.float64), knn.NEAR)
    labels = index.labels[found.index[0]]
    assert np.isclose(probs[0][0], weights[labels == 0].sum() / weights.sum(), atol=1e-6)
    assert np.allclose(probs[2], [0.25, 0.25, 0.25, 0.25])
    refs = knn.references(index, found)
    assert refs[0].split()[0] in {"1", "2"}  # training file row numbers, most similar first
    assert refs[2] == ""


def test_similarity_votes_weigh_by_cosine_and_ignore_rows_sharing_nothing(index) -> None:
    found = knn.nearest(index, query_vectors(index, QUERIES), 8)
    probs = knn.vote(index, found, 4, "similarity")
    assert np.allclose(probs.sum(axis=1), 1.0)
    s = found.similarity[0].astype(np.float64)
    labels = index.labels[found.index[0]]
    assert (s == 0).any()  # some of the 8 rows share no feature: they weigh nothing
    for label in range(4):
        assert np.isclose(probs[0][label], s[labels == label].sum() / s.sum(), atol=1e-6)
    assert np.allclose(probs[2], [0.25, 0.25, 0.25, 0.25])  # nothing in common: label shares
    with pytest.raises(ValueError, match="one of"):
        knn.vote(index, found, 4, "uniform")


def test_an_extended_index_keeps_the_old_rows_and_names_the_new_file(index) -> None:
    featurizer = HashingFeaturizer(ngrams=2, buckets=1 << 12)
    counts = featurizer.counts(["an app crashes at start"])  # words the index has never seen
    columns, idf = knn.extend_features(index, counts)
    assert np.isin(index.columns, columns).all()
    assert np.allclose(idf[np.searchsorted(columns, index.columns)], index.idf)  # kept
    more = knn.vectors(counts, columns, idf)
    parts = [knn.existing(index, columns), (more, np.array([4]), np.array([1]), np.array([1]))]
    extended = knn.build_index(parts, columns, idf, ("train.csv", "s3://b/more.csv"))
    assert extended.n_rows == index.n_rows + 1
    old = matrix(extended)[: index.n_rows]  # the old rows unchanged, over the new columns
    assert np.array_equal(old[:, np.searchsorted(columns, index.columns)], matrix(index))
    assert old.sum() == pytest.approx(matrix(index).sum())
    crash = knn.nearest(extended, query_vectors(extended, ["the app crashes on start"]), 1)
    assert knn.references(extended, crash) == ["more.csv:1"]


def test_capped_postings_keep_each_features_largest_values_and_score_what_is_left() -> None:
    counts = HashingFeaturizer(ngrams=2, buckets=1 << 12).counts(TEXTS)
    columns, idf = knn.fit_features(counts)
    parts = [(knn.vectors(counts, columns, idf), LABELS, np.arange(1, 9), np.zeros(8))]
    index = knn.build_index(parts, columns, idf, ("train.csv",))  # every feature: "the" in 6
    full = matrix(index)
    capped = knn.cap_postings(index, 1)
    kept = matrix(capped)
    lengths = np.diff(index.indptr)
    assert np.array_equal(np.diff(capped.indptr), np.minimum(lengths, 1))
    assert len(capped.values) == capped.indptr[-1] < len(index.values)  # some features had 2+
    for f in range(len(index.columns)):
        column = full[:, f]
        if lengths[f] <= 1:
            assert np.array_equal(kept[:, f], column)  # untouched
        else:  # the largest stays, in place; the rest are gone
            assert np.allclose(kept[:, f][kept[:, f] > 0], column.max())
            assert np.all((kept[:, f] == 0) | (kept[:, f] == column))
    q = query_vectors(index, QUERIES[:2])
    found = knn.nearest(capped, q, 3)
    expected = (
        dense(q, len(index.columns)) @ kept.T
    )  # not re-normalised: the exact dot of what is left
    for i in range(2):
        assert np.allclose(found.similarity[i], np.sort(expected[i])[::-1][:3], atol=1e-6)
