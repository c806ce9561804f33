"""The `nbsvm` model's numpy side: feature weighting, NB ratios and prediction (no torch).

Features are a text's hashed word n-grams (textbatch.model.hashing). A feature f of a text is
worth u_f * idf_f, with u_f = 1 + log(count) (sublinear tf) and the smoothed idf of the
training texts. For class c each feature is further scaled by |r_fc|, its naive-Bayes
log-count ratio (class c against the rest, binary counts, add-one smoothing: Wang & Manning
2012), and the text's vector is L2-normalised again for that class, so that features that tell
class c apart weigh most in its score. Each class has a linear one-vs-rest score

    s_c = sum_f u_f * A_fc / sqrt(sum_f u_f^2 * B_fc) + b_c,
    A_fc = idf_f * |r_fc| * w_fc,   B_fc = (idf_f * r_fc)^2,

with w trained as an L2-regularised squared-hinge classifier (textbatch.model.nbsvm_fit), and
probabilities are softmax(s / T), T fitted on the validation rows. A binary model keeps one
score (the second class's): s_0 = -s_1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textbatch.model.hashing import Counts, HashingFeaturizer

NB_SMOOTHING = 1.0
TEMPERATURES = np.exp(np.linspace(np.log(0.02), np.log(50.0), 121))


def sublinear(counts: Counts) -> np.ndarray:
    return 1.0 + np.log(counts.count)


def idf(document_frequency: np.ndarray, n_rows: int) -> np.ndarray:
    """Smoothed inverse document frequency (scikit-learn's formula)."""
    return (np.log((1.0 + n_rows) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def log_count_ratios(per_class: np.ndarray) -> np.ndarray:
    """(n_features, n_classes) float32 from (n_classes, n_features) counts of the texts of each
    class that hold each feature: for each class c and feature f, log of the share of f among
    the features of class c over its share among the other classes' (one-vs-rest), with
    add-one smoothing (Wang & Manning 2012)."""
    per_class = per_class.astype(np.float64)
    others = per_class.sum(axis=0, keepdims=True) - per_class
    inside = per_class + NB_SMOOTHING
    outside = others + NB_SMOOTHING
    ratios = np.log(inside / inside.sum(axis=1, keepdims=True)) - np.log(
        outside / outside.sum(axis=1, keepdims=True)
    )
    return np.ascontiguousarray(ratios.T, dtype=np.float32)


def nb_ratios(present: np.ndarray, rows: np.ndarray, y: np.ndarray, n_features: int) -> np.ndarray:
    """Log-count ratios from binary (row, feature) pairs: `present` holds each pair's feature
    index, `rows` its row."""
    n_classes = int(y.max()) + 1
    return log_count_ratios(
        np.stack(
            [np.bincount(present[y[rows] == c], minlength=n_features) for c in range(n_classes)]
        )
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def class_logits(scores: np.ndarray, n_classes: int) -> np.ndarray:
    """One-vs-rest scores as one column per class (a binary model's one score: -s, s)."""
    return np.concatenate([-scores, scores], axis=1) if n_classes == 2 else scores


def fit_temperature(scores: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """The T of softmax(scores / T) with the least log loss on held-out rows."""
    logits = class_logits(scores, n_classes)
    best, best_loss = 1.0, np.inf
    for t in TEMPERATURES:
        p = softmax(logits / t)
        loss = -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean()
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


@dataclass(frozen=True)
class NbsvmTables:
    """A trained model as its scoring tables: everything prediction needs."""

    columns: np.ndarray  # int64 (n_features,), sorted hashed columns seen in training
    numerator: np.ndarray  # float32 (n_features, n_scores): A
    denominator: np.ndarray  # float32 (n_features, n_scores): B
    bias: np.ndarray  # float32 (n_scores,)
    temperature: float
    n_classes: int


class NbsvmScorer:
    """Class probabilities of texts, in numpy."""

    def __init__(self, featurizer: HashingFeaturizer, tables: NbsvmTables) -> None:
        self.featurizer = featurizer
        self.tables = tables
        # hashed column -> table row (or -1: never seen in training, so it does not count)
        self.index = np.full(featurizer.buckets, -1, dtype=np.int32)
        self.index[tables.columns] = np.arange(len(tables.columns), dtype=np.int32)

    def scores(self, texts: list[str]) -> np.ndarray:
        counts = self.featurizer.counts(texts)
        at = self.index[counts.column]
        known = at >= 0
        rows, at, u = counts.row[known], at[known], sublinear(counts)[known, None]
        t = self.tables
        out = np.zeros((counts.n_rows, t.numerator.shape[1]))
        if len(rows) == 0:
            return out + t.bias
        # pairs are sorted by row: one reduceat per table sums each row's features
        starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
        top = np.add.reduceat(u * t.numerator[at], starts, axis=0, dtype=np.float64)
        norm = np.sqrt(np.add.reduceat(u * u * t.denominator[at], starts, axis=0, dtype=np.float64))
        out[rows[starts]] = np.divide(top, norm, out=np.zeros_like(top), where=norm > 0)
        return out + t.bias

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        logits = class_logits(self.scores(texts), self.tables.n_classes)
        return softmax(logits / self.tables.temperature).astype(np.float32)
