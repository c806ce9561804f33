"""The `knn` model: a text's class from its most similar labelled rows, in numpy (no torch).

Features are the CPU models' (textbatch.model.hashing): hashed word n-grams, sublinear tf times
the smoothed idf of the index's first training file, L2-normalised. Each training row keeps
its `knn_max_features` strongest features (re-normalised), which bounds the index at
n_rows x knn_max_features postings and drops the frequent, low-idf n-grams that would make every
query touch every row. The index is stored by column (an inverted index): a query's cosine
similarities to every row are the postings of its features, gathered and multiplied by its
values in one sparse matrix-vector product (scipy's, in C: 2-3x a numpy gather-and-bincount
over the same postings at 256 features a row, 10x with every feature). With
`knn_max_postings_share` below 1 each feature keeps only its postings with the largest values,
in at most that share of the rows (`cap_postings`): an approximate search, several times faster
against a large index (docs/benchmarks.md measures what it costs in accuracy). The train job
builds an index from chunks of the texts (`index_texts`), in memory the size of the index.

Prediction takes the `n_neighbors` most similar rows and votes with their cosine similarities
(`knn_weights` "similarity", Yang 1999's weighted k-NN for text; knn.json) or with 1 / (1 -
cosine) (scikit-learn's `weights="distance"`, the default of a config that does not say);
probabilities are each label's share of the weight. A query that shares no feature with any
row gets the labels' training shares. Each prediction
names its neighbours: their row numbers in the training file (`FILE:ROW` for rows that a later
`--base-model` run added from another file: the file's name without its folders; the index
keeps the full names, listed in the train job's `index` log line).

Adding labelled rows (`textbatch train --base-model VERSION --data more.csv`) appends their
vectors under the same features and idf: nothing else is refitted (a cap applies to the whole
new index; postings an earlier cap dropped stay dropped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import sparse

from textbatch.model.hashing import Counts, HashingFeaturizer
from textbatch.model.nbsvm import idf, sublinear

POSTINGS_AT_ONCE = 4_000_000  # a query's postings gathered at once (32 MB)
CHUNK_ROWS = 8192  # texts featurized at once while an index is built
NEAR = 1e-9  # a distance below this counts as this (an identical text)


ARRAYS = ("columns", "idf", "indptr", "rows", "values", "labels", "sources", "source_rows")


@dataclass(frozen=True)
class KnnIndex:
    """Everything prediction needs: the features, the postings, and each row's label and origin."""

    columns: np.ndarray  # int64 (n_features,) sorted hashed columns with an idf
    idf: np.ndarray  # float32 (n_features,)
    indptr: np.ndarray  # int64 (n_features + 1,): feature f's postings are [indptr[f], indptr[f+1])
    rows: np.ndarray  # int32 (n_postings,) the index row of each posting
    values: np.ndarray  # float32 (n_postings,)
    labels: np.ndarray  # int32 (n_rows,) each row's label id
    sources: np.ndarray  # int32 (n_rows,) each row's training file (0: the first)
    source_rows: np.ndarray  # int64 (n_rows,) each row's row number in its file
    source_names: tuple[str, ...]  # the training files, in the order they were added

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    def to_weights(self) -> dict[str, np.ndarray]:
        """The index as safetensors arrays; the training files' names as UTF-8 JSON bytes."""
        names = json.dumps(list(self.source_names), ensure_ascii=False).encode("utf-8")
        return {
            **{name: getattr(self, name) for name in ARRAYS},
            "source_names": np.frombuffer(names, dtype=np.uint8),
        }

    @classmethod
    def from_weights(cls, weights: dict[str, np.ndarray]) -> KnnIndex:
        names = json.loads(weights["source_names"].tobytes().decode("utf-8"))
        return cls(**{name: weights[name] for name in ARRAYS}, source_names=tuple(names))

    @cached_property
    def postings(self) -> sparse.csr_matrix:
        """The inverted index as a (n_features, n_rows) sparse matrix over the same arrays (made
        once per loaded index): its rows are the features' postings."""
        return sparse.csr_matrix(
            (self.values, self.rows, self.indptr), shape=(len(self.columns), self.n_rows)
        )

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in ARRAYS)


@dataclass(frozen=True)
class Vectors:
    """L2-normalised sparse rows over the index's features, sorted by row."""

    n_rows: int
    row: np.ndarray  # int64
    feature: np.ndarray  # int64, positions in KnnIndex.columns
    value: np.ndarray  # float32


def vectors(counts: Counts, columns: np.ndarray, weights: np.ndarray) -> Vectors:
    """Each row's tf-idf over `columns` (features outside them are dropped), L2-normalised."""
    at = np.searchsorted(columns, counts.column)
    known = columns[np.minimum(at, len(columns) - 1)] == counts.column if len(columns) else at < 0
    row, feature = counts.row[known], at[known]
    value = (sublinear(counts)[known] * weights[feature]).astype(np.float32)
    norms = np.sqrt(np.bincount(row, weights=np.square(value), minlength=counts.n_rows))
    value = (value / np.maximum(norms[row], 1e-12)).astype(np.float32)
    return Vectors(counts.n_rows, row, feature, value)


def strongest(v: Vectors, keep: int) -> Vectors:
    """Each row's `keep` largest features, re-normalised (a row with fewer keeps all). Only
    the rows with more are sorted; the others keep their order (by feature)."""
    lengths = np.bincount(v.row, minlength=v.n_rows)
    row, feature, value = v.row, v.feature, v.value
    if (lengths > keep).any():
        longer = np.flatnonzero((lengths > keep)[row])
        order = longer[np.lexsort((-value[longer], row[longer]))]
        rank = np.arange(len(order)) - np.searchsorted(row[order], row[order], side="left")
        kept = np.ones(len(row), dtype=bool)
        kept[order[rank >= keep]] = False
        row, feature, value = row[kept], feature[kept], value[kept]
    norms = np.sqrt(np.bincount(row, weights=np.square(value), minlength=v.n_rows))
    return Vectors(
        v.n_rows, row, feature, (value / np.maximum(norms[row], 1e-12)).astype(np.float32)
    )


def fit_features(counts: Counts) -> tuple[np.ndarray, np.ndarray]:
    """The hashed columns of the training texts and their idf."""
    columns, frequency = np.unique(counts.column, return_counts=True)
    return columns, idf(frequency, counts.n_rows)


def frequencies(
    featurizer: HashingFeaturizer, texts: list[str], *, chunk_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The hashed columns of `texts` and how many texts hold each, featurized `chunk_rows`
    (CHUNK_ROWS) at a time: what fit_features gives from every text's counts at once."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    merged = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(texts), chunk_rows):
        chunk = featurizer.counts(texts[start : start + chunk_rows])
        pending.append(np.unique(chunk.column, return_counts=True))
        if sum(len(c) for c, _ in pending) > 2 * len(merged[0]) + (1 << 20):  # amortised
            merged = merge_frequencies(merged, *pending)
            pending = []
    return merge_frequencies(merged, *pending)


def merge_frequencies(*sets: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sets of texts' (columns, document frequencies) as one."""
    columns, at = np.unique(np.concatenate([c for c, _ in sets]), return_inverse=True)
    frequency = np.bincount(
        at, weights=np.concatenate([f for _, f in sets]), minlength=len(columns)
    )
    return columns, frequency.astype(np.int64)


def index_texts(
    featurizer: HashingFeaturizer,
    texts: list[str],
    columns: np.ndarray,
    weights: np.ndarray,
    keep: int,
    *,
    labels: np.ndarray,
    source_rows: np.ndarray,
    source_names: tuple[str, ...],
    chunk_rows: int | None = None,
) -> KnnIndex:
    """The index of `texts` (each keeping its `keep` strongest features over `columns`): the
    same arrays as build_index over every text's vectors, built in two passes over chunks of
    the texts (the first counts each feature's postings, the second writes them in place), so
    that memory holds the index and one chunk's counts, never every text's (`chunk_rows`
    texts, CHUNK_ROWS by default)."""
    chunk_rows = chunk_rows or CHUNK_ROWS

    def chunk(start: int) -> Vectors:
        counts = featurizer.counts(texts[start : start + chunk_rows])
        return strongest(vectors(counts, columns, weights), keep)

    starts = range(0, len(texts), chunk_rows)
    lengths = np.zeros(len(columns), dtype=np.int64)
    for start in starts:
        lengths += np.bincount(chunk(start).feature, minlength=len(columns))
    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    rows = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=np.float32)
    cursor = indptr[:-1].copy()  # where each feature's next posting goes
    for start in starts:
        v = chunk(start)
        order = np.argsort(v.feature, kind="stable")  # by feature, rows in order within each
        feature = v.feature[order]
        at = cursor[feature] + np.arange(len(feature)) - np.searchsorted(feature, feature)
        rows[at], values[at] = v.row[order] + start, v.value[order]
        cursor += np.bincount(feature, minlength=len(columns))
    return KnnIndex(
        columns=columns,
        idf=weights,
        indptr=indptr,
        rows=rows,
        values=values,
        labels=np.asarray(labels, dtype=np.int32),
        sources=np.zeros(len(texts), dtype=np.int32),
        source_rows=np.asarray(source_rows, dtype=np.int64),
        source_names=source_names,
    )


def build_index(
    parts: list[tuple[Vectors, np.ndarray, np.ndarray, np.ndarray]],
    columns: np.ndarray,
    weights: np.ndarray,
    source_names: tuple[str, ...],
) -> KnnIndex:
    """An index over several parts' rows: (vectors, label ids, row numbers, source ids) each."""
    offsets = np.cumsum([0] + [p[0].n_rows for p in parts[:-1]])
    row = np.concatenate([p[0].row + o for p, o in zip(parts, offsets, strict=True)])
    feature = np.concatenate([p[0].feature for p in parts])
    value = np.concatenate([p[0].value for p in parts])
    order = np.argsort(feature, kind="stable")
    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(np.bincount(feature, minlength=len(columns)), out=indptr[1:])
    return KnnIndex(
        columns=columns,
        idf=weights,
        indptr=indptr,
        rows=row[order].astype(np.int32),
        values=value[order],
        labels=np.concatenate([p[1] for p in parts]).astype(np.int32),
        sources=np.concatenate([p[3] for p in parts]).astype(np.int32),
        source_rows=np.concatenate([p[2] for p in parts]).astype(np.int64),
        source_names=source_names,
    )


def cap_postings(index: KnnIndex, most: int) -> KnnIndex:
    """The index with each feature's postings cut to its `most` largest values (static index
    pruning: a frequent n-gram keeps the rows where it weighs most). Rows are not re-normalised:
    a similarity is then the exact one less what the dropped postings held."""
    lengths = np.diff(index.indptr)
    keep = np.ones(len(index.values), dtype=bool)
    for f in np.flatnonzero(lengths > most):
        lo, hi = index.indptr[f], index.indptr[f + 1]
        keep[lo + np.argpartition(index.values[lo:hi], hi - lo - most)[: hi - lo - most]] = False
    indptr = np.zeros_like(index.indptr)
    np.cumsum(np.minimum(lengths, most), out=indptr[1:])
    return replace(index, indptr=indptr, rows=index.rows[keep], values=index.values[keep])


@dataclass(frozen=True)
class Neighbours:
    """The k nearest index rows of each query, most similar first."""

    index: np.ndarray  # int64 (n, k)
    similarity: np.ndarray  # float32 (n, k)


def nearest(index: KnnIndex, queries: Vectors, k: int) -> Neighbours:
    """Exact cosine k-nearest rows (of the postings the index holds), a query at a time."""
    k = min(k, index.n_rows)
    out_index = np.zeros((queries.n_rows, k), dtype=np.int64)
    out_similarity = np.zeros((queries.n_rows, k), dtype=np.float32)
    matrix = query_matrix(queries, len(index.columns))
    lengths = np.diff(index.indptr)
    everything = np.arange(k)
    for i in range(queries.n_rows):
        lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
        scores = similarities(index, matrix.indices[lo:hi], matrix.data[lo:hi], lengths)
        top = np.argpartition(-scores, k - 1)[:k] if k < index.n_rows else everything
        top = top[np.argsort(-scores[top], kind="stable")]
        out_index[i], out_similarity[i] = top, scores[top]
    return Neighbours(out_index, out_similarity)


def similarities(
    index: KnnIndex, features: np.ndarray, values: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """(n_rows,) one query's cosine similarities to every row: the postings of its features,
    at most POSTINGS_AT_ONCE of them gathered at a time, each multiplied once."""
    scores = np.zeros(index.n_rows, dtype=np.float32)
    ends = np.cumsum(lengths[features])
    start = 0
    while start < len(features):
        done = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, done + POSTINGS_AT_ONCE, side="right")))
        scores += index.postings[features[start:stop]].T @ values[start:stop]
        start = stop
    return scores


def query_matrix(q: Vectors, n_features: int) -> sparse.csr_matrix:
    """Queries as a (n_queries, n_features) sparse matrix (rows sorted, as Vectors are)."""
    indptr = np.zeros(q.n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(q.row, minlength=q.n_rows), out=indptr[1:])
    return sparse.csr_matrix((q.value, q.feature, indptr), shape=(q.n_rows, n_features))


def similarity_block(index: KnnIndex, q: Vectors, start: int, stop: int) -> np.ndarray:
    """(stop - start, n_rows) float64 cosine similarities of queries start..stop to every row."""
    block = query_matrix(q, len(index.columns))[start:stop]
    return (block @ index.postings).toarray().astype(np.float64)


WEIGHTS = ("similarity", "distance")


def vote(
    index: KnnIndex, found: Neighbours, n_classes: int, weights: str = "distance"
) -> np.ndarray:
    """(n, n_classes) float32: each label's share of the neighbours' weights, their cosine
    similarities ("similarity") or 1 / (1 - cosine) ("distance", scikit-learn's); the training
    shares for a query with no similar row at all."""
    similarity = found.similarity.astype(np.float64)
    if weights == "similarity":
        weight = np.maximum(similarity, 0.0)
    elif weights == "distance":
        weight = 1.0 / np.maximum(1.0 - similarity, NEAR)
    else:
        raise ValueError(f"knn weights {weights!r}: one of {WEIGHTS}")
    labels = index.labels[found.index]
    n = len(labels)
    probs = np.zeros((n, n_classes))
    np.add.at(probs, (np.repeat(np.arange(n), labels.shape[1]), labels.ravel()), weight.ravel())
    unseen = similarity.max(axis=1, initial=0.0) <= 0
    probs[unseen] = np.bincount(index.labels, minlength=n_classes) / max(1, index.n_rows)
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def references(index: KnnIndex, found: Neighbours) -> list[str]:
    """Each query's neighbours as one cell: row numbers in the training file (`FILE:ROW` for a
    file added later), most similar first, space-separated."""
    out = []
    for row_index, similarity in zip(found.index, found.similarity, strict=True):
        refs = []
        for i in row_index[similarity > 0]:
            source, row = int(index.sources[i]), int(index.source_rows[i])
            refs.append(str(row) if source == 0 else f"{_short(index.source_names[source])}:{row}")
        out.append(" ".join(refs))
    return out


def extend_features(index: KnnIndex, counts: Counts) -> tuple[np.ndarray, np.ndarray]:
    """The index's features and idf, plus the columns new rows bring (their idf from their own
    document frequency over all rows, the old rows holding none of them); old idf unchanged."""
    new, frequency = np.unique(counts.column, return_counts=True)
    fresh = ~np.isin(new, index.columns)
    columns = np.union1d(index.columns, new[fresh])
    weights = np.empty(len(columns), dtype=np.float32)
    weights[np.searchsorted(columns, index.columns)] = index.idf
    weights[np.searchsorted(columns, new[fresh])] = idf(
        frequency[fresh], index.n_rows + counts.n_rows
    )
    return columns, weights


def existing(
    index: KnnIndex, columns: np.ndarray
) -> tuple[Vectors, np.ndarray, np.ndarray, np.ndarray]:
    """A built index's rows as a part again (its postings by row) over `columns`, a superset of
    its features: to extend it."""
    position = np.searchsorted(columns, index.columns)
    feature = np.repeat(position, np.diff(index.indptr))
    order = np.argsort(index.rows, kind="stable")
    rows = Vectors(
        index.n_rows, index.rows[order].astype(np.int64), feature[order], index.values[order]
    )
    return rows, index.labels, index.source_rows, index.sources


def _short(name: str) -> str:
    """A training file's name in a cell: its last path part, without spaces."""
    return name.rstrip("/").rsplit("/", 1)[-1].replace(" ", "_")


class KnnScorer:
    """Probabilities and neighbours of texts."""

    def __init__(
        self,
        featurizer: HashingFeaturizer,
        index: KnnIndex,
        k: int,
        n_classes: int,
        weights: str = "distance",
    ):
        self.featurizer = featurizer
        self.index = index
        self.k = k
        self.n_classes = n_classes
        self.weights = weights
        # made here, before the predict job forks its workers: they share it instead of each
        # checking and converting the index's arrays again
        _ = index.postings

    def neighbours(self, texts: list[str]) -> Neighbours:
        return nearest(
            self.index,
            vectors(self.featurizer.counts(texts), self.index.columns, self.index.idf),
            self.k,
        )

    def predict(self, texts: list[str]) -> tuple[np.ndarray, list[str]]:
        found = self.neighbours(texts)
        probabilities = vote(self.index, found, self.n_classes, self.weights)
        return probabilities, references(self.index, found)
