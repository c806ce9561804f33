"""Spherical k-means over sparse unit vectors, against plain arithmetic and scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import silhouette_score

from textbatch.model import kmeans, knn


def sparse(x: np.ndarray) -> knn.Vectors:
    row, feature = np.nonzero(x)
    return knn.Vectors(len(x), row.astype(np.int64), feature.astype(np.int64),
                       x[row, feature].astype(np.float32))  # fmt: skip


def groups(
    seed: int = 0, per: int = 40, k: int = 4, width: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """k groups of unit rows, each mostly on its own block of features."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    block = width // k
    for g in range(k):
        for _ in range(per):
            x = rng.random(width) * 0.15
            x[g * block : (g + 1) * block] += rng.random(block)
            rows.append(x / np.linalg.norm(x))
            labels.append(g)
    return np.array(rows), np.array(labels)


def test_similarities_and_pairwise_are_the_dense_products() -> None:
    x, _ = groups()
    v = sparse(x)
    centres = kmeans.normalise(x[:3])
    assert np.allclose(kmeans.similarities(v, centres), x @ centres.T, atol=1e-5)
    assert np.allclose(kmeans.pairwise(v, x.shape[1]), x @ x.T, atol=1e-5)


def test_the_silhouette_is_scikit_learns_cosine_silhouette() -> None:
    x, labels = groups()
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(labels)
    for assignment in (labels, shuffled):
        ours = kmeans.silhouette(x @ x.T, assignment)
        assert abs(ours - silhouette_score(x, assignment, metric="cosine")) < 1e-4


def test_mini_batches_recover_well_separated_groups_and_the_range_finds_their_count() -> None:
    x, labels = groups()
    v = sparse(x)
    width = x.shape[1]
    model = kmeans.MiniBatchKMeans.started(v, width, 4, seed=0, inits=3)
    order = np.random.default_rng(2).permutation(len(x))
    for start in range(0, len(x), 32):  # batches of 32 rows in a shuffled order
        model.partial_fit(sparse(x[np.sort(order[start : start + 32])]))
    found, distance = model.assign(v)
    assert np.allclose(np.linalg.norm(model.centres, axis=1), 1.0, atol=1e-5)
    for g in range(4):  # each group is one cluster, and each cluster one group
        assert len(set(found[labels == g])) == 1
    assert len(set(found)) == 4
    assert (distance >= 0).all()
    assert np.allclose(distance, 1 - (x @ model.centres.T)[np.arange(len(x)), found], atol=1e-5)
    similarity = kmeans.pairwise(v, width)
    scores = {
        k: kmeans.silhouette(similarity, kmeans.best_of(v, width, k, 0, 3)[0]) for k in range(2, 8)
    }
    assert max(scores, key=scores.get) == 4
