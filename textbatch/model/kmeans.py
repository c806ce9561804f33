"""Spherical mini-batch k-means over sparse unit vectors (textbatch.model.knn.Vectors), in numpy.

Mini-batch k-means (Sculley 2010): each batch's rows move their nearest centre towards them
with a per-centre rate of 1 / (rows it has taken so far); centres are re-normalised, so that
the nearest centre is the most cosine-similar one. The starting centres are the best of a few
seeded Lloyd runs (k-means++ starts) on a sample of the rows. A range of cluster counts is
decided by the mean cosine silhouette of the sample, computed for each count on that sample.
"""

from __future__ import annotations

import numpy as np

from textbatch.model import knn
from textbatch.model.knn import Vectors


def similarities(v: Vectors, centres: np.ndarray) -> np.ndarray:
    """(n_rows, k) cosine similarities of unit rows to unit centres."""
    out = np.zeros((v.n_rows, centres.shape[0]), dtype=np.float64)
    if len(v.row):  # rows are sorted: one reduceat sums each row's features
        contributions = v.value[:, None].astype(np.float64) * centres[:, v.feature].T
        starts = np.flatnonzero(np.concatenate([[True], v.row[1:] != v.row[:-1]]))
        out[v.row[starts]] = np.add.reduceat(contributions, starts, axis=0)
    return out


def pairwise(v: Vectors, width: int) -> np.ndarray:
    """(n, n) cosine similarities of a sample's rows, through the knn model's inverted index."""
    n = v.n_rows
    index = knn.build_index(
        [(v, np.zeros(n), np.arange(n), np.zeros(n))], np.arange(width), np.ones(width), ("",)
    )
    return knn.similarity_block(index, v, 0, n)


def normalise(centres: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    return (centres / np.maximum(norms, 1e-12)).astype(np.float32)


def rows_dense(v: Vectors, rows: list[int], width: int) -> np.ndarray:
    out = np.zeros((len(rows), width), dtype=np.float32)
    for i, r in enumerate(rows):
        lo, hi = np.searchsorted(v.row, [r, r + 1])
        out[i, v.feature[lo:hi]] = v.value[lo:hi]
    return out


def kmeans_plus_plus(v: Vectors, width: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k starting centres among the rows: each next one drawn by its squared distance from the
    nearest one chosen (a row identical to a chosen one is not drawn while others remain)."""
    chosen = [int(rng.integers(v.n_rows))]
    centres = rows_dense(v, chosen, width)
    nearest = 2.0 - 2.0 * similarities(v, centres)[:, 0]
    for _ in range(1, k):
        weights = np.maximum(nearest, 0.0)
        total = weights.sum()
        pick = (
            int(rng.choice(v.n_rows, p=weights / total))
            if total > 0
            else int(rng.integers(v.n_rows))
        )
        chosen.append(pick)
        centre = rows_dense(v, [pick], width)
        nearest = np.minimum(nearest, 2.0 - 2.0 * similarities(v, centre)[:, 0])
    return normalise(rows_dense(v, chosen, width))


def _sums(v: Vectors, labels: np.ndarray, k: int, width: int) -> np.ndarray:
    return np.bincount(
        labels[v.row] * width + v.feature, weights=v.value, minlength=k * width
    ).reshape(k, width)


def lloyd(
    v: Vectors, width: int, k: int, seed: int, iterations: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (Lloyd's) on a sample from a seeded k-means++ start: its rows' labels
    and the centres."""
    centres = kmeans_plus_plus(v, width, k, np.random.default_rng(seed))
    labels = np.full(v.n_rows, -1, dtype=np.int64)
    for _ in range(iterations):
        new_labels = similarities(v, centres).argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = _sums(v, labels, k, width)
        empty = np.bincount(labels, minlength=k) == 0
        sums[empty] = centres[empty]
        centres = normalise(sums)
    return labels, centres


def best_of(v: Vectors, width: int, k: int, seed: int, inits: int) -> tuple[np.ndarray, np.ndarray]:
    """The labels and centres of the best of `inits` Lloyd runs on a sample (the least summed
    distance to the centres)."""
    best: tuple[np.ndarray, np.ndarray] | None = None
    best_cost = np.inf
    for i in range(inits):
        labels, centres = lloyd(v, width, k, seed + i)
        cost = float((1.0 - similarities(v, centres).max(axis=1)).sum())
        if cost < best_cost:
            best, best_cost = (labels, centres), cost
    assert best is not None
    return best


class MiniBatchKMeans:
    def __init__(self, centres: np.ndarray) -> None:
        self.centres = centres  # float32 (k, width), unit rows
        self.counts = np.zeros(len(centres), dtype=np.float64)

    @classmethod
    def started(cls, sample: Vectors, width: int, k: int, seed: int, inits: int) -> MiniBatchKMeans:
        return cls(best_of(sample, width, k, seed, inits)[1])

    def partial_fit(self, v: Vectors) -> None:
        """One mini-batch step."""
        if v.n_rows == 0:
            return
        k, width = self.centres.shape
        nearest = similarities(v, self.centres).argmax(axis=1)
        sums = _sums(v, nearest, k, width)
        taken = np.bincount(nearest, minlength=k).astype(np.float64)
        self.counts += taken
        moved = taken > 0
        rate = (1.0 / self.counts[moved])[:, None]
        # c <- c + rate * (sum of its rows - taken * c): Sculley's per-row rule, batched
        centres = self.centres[moved]
        self.centres[moved] = normalise(
            centres + rate * (sums[moved] - taken[moved, None] * centres)
        )

    def assign(self, v: Vectors) -> tuple[np.ndarray, np.ndarray]:
        """Each row's nearest centre and its cosine distance (1 - similarity)."""
        s = similarities(v, self.centres)
        best = s.argmax(axis=1) if v.n_rows else np.zeros(0, dtype=np.int64)
        return best, (1.0 - s[np.arange(v.n_rows), best]).clip(0.0, 2.0)


def silhouette(similarity: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance, from the rows' (n, n) similarities (0 for a row
    alone in its cluster)."""
    n = len(labels)
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    k = int(labels.max()) + 1
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), labels] = 1.0
    sizes = one_hot.sum(axis=0)
    per_cluster = distance @ one_hot  # (n, k): summed distance to each cluster's rows
    own = sizes[labels]
    a = per_cluster[np.arange(n), labels] / np.maximum(own - 1, 1)
    others = per_cluster / np.maximum(sizes, 1)
    others[np.arange(n), labels] = np.inf
    others[:, sizes == 0] = np.inf
    b = others.min(axis=1)
    score = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(score.mean())
