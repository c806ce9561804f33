"""The `nbsvm` model's numpy side: feature weighting, NB ratios and prediction (no torch).

Features are a text's hashed word n-grams (textbatch.model.hashing). A feature f of a text is
worth u_f * idf_f, with u_f = 1 + log(count) (sublinear tf; `term_frequency` "binary": u_f =
1 for a feature present, Wang & Manning's binarised counts) and the smoothed idf of the
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
from scipy import sparse

from textbatch.model.hashing import Counts, HashingFeaturizer, NgramSpans

NB_SMOOTHING = 1.0
CANDIDATES = (
    1  # a row's `why` looks at its k * CANDIDATES strongest terms (fewer when some overlap)
)
# a term's ends that say nothing to a reader ("the wiring." is "the wiring")
PUNCTUATION = " !\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"
TEMPERATURES = np.exp(np.linspace(np.log(0.02), np.log(50.0), 121))


def sublinear(counts: Counts) -> np.ndarray:
    return 1.0 + np.log(counts.count)


TERM_FREQUENCIES = ("sublinear", "binary")


def term_frequency(counts: Counts, kind: str) -> np.ndarray:
    """u_f of each (row, feature) pair: 1 + log(count) ("sublinear") or 1 ("binary")."""
    if kind == "binary":
        return np.ones(len(counts.count), dtype=np.float32)
    if kind != "sublinear":
        raise ValueError(f"term frequency {kind!r}: one of {TERM_FREQUENCIES}")
    return sublinear(counts)


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
class _Terms:
    """A batch's pairs seen in training, as the scores used them."""

    known: np.ndarray  # bool over all pairs
    rows: np.ndarray  # each known pair's row
    at: np.ndarray  # its table row
    u: np.ndarray  # its term frequency (u_f)


@dataclass(frozen=True)
class Explained:
    probabilities: np.ndarray  # (rows, n_classes) float32
    unseen: tuple[int, int]  # n-gram occurrences never seen in training, all of them
    why: list[str] | None  # each row's strongest terms, when asked for


@dataclass(frozen=True)
class NbsvmTables:
    """A trained model as its scoring tables: everything prediction needs."""

    columns: np.ndarray  # int64 (n_features,), sorted hashed columns seen in training
    numerator: np.ndarray  # float32 (n_features, n_scores): A
    denominator: np.ndarray  # float32 (n_features, n_scores): B
    bias: np.ndarray  # float32 (n_scores,)
    temperature: float
    n_classes: int
    term_frequency: str = "sublinear"  # TERM_FREQUENCIES: u_f (versions before it: sublinear)


class NbsvmScorer:
    """Class probabilities of texts, in numpy."""

    def __init__(self, featurizer: HashingFeaturizer, tables: NbsvmTables) -> None:
        self.featurizer = featurizer
        self.tables = tables
        # hashed column -> table row (or -1: never seen in training, so it does not count)
        self.index = np.full(featurizer.buckets, -1, dtype=np.int32)
        self.index[tables.columns] = np.arange(len(tables.columns), dtype=np.int32)

    def scores(self, texts: list[str]) -> np.ndarray:
        return self._scores(self.featurizer.counts(texts))[0]

    def _scores(self, counts: Counts) -> tuple[np.ndarray, _Terms | None]:
        """Each row's class scores, and what names the terms behind them (None: no row has a
        feature seen in training)."""
        at = self.index[counts.column]
        known = at >= 0
        u = term_frequency(counts, self.tables.term_frequency)[known].astype(np.float32, copy=False)
        rows, at = counts.row[known], at[known]
        t = self.tables
        if len(rows) == 0:
            return np.zeros((counts.n_rows, t.numerator.shape[1])) + t.bias, None
        # pairs are sorted by row: the batch is a sparse (rows x features) matrix, and each
        # table's sums over a row's features are one sparse-dense product (scipy's, in C: no
        # (pairs x classes) array gathered; 4.2-4.5x the gather-and-reduceat for 20 classes).
        # Each row is summed over its own features in their order, whatever the batch.
        indptr = np.zeros(counts.n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=counts.n_rows), out=indptr[1:])
        x = sparse.csr_matrix((u, at, indptr), shape=(counts.n_rows, len(t.columns)))
        top = x @ t.numerator
        x.data = u * u
        norm = np.sqrt(x @ t.denominator)
        scores = np.divide(top, norm, out=np.zeros_like(top), where=norm > 0)
        return scores.astype(np.float64) + t.bias, _Terms(known, rows, at, u)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self._proba(self.scores(texts))

    def _proba(self, scores: np.ndarray) -> np.ndarray:
        logits = class_logits(scores, self.tables.n_classes)
        return softmax(logits / self.tables.temperature).astype(np.float32)

    def predict_explained(self, texts: list[str], why_terms: int) -> Explained:
        """Probabilities, the count of n-gram occurrences never seen in training against all,
        and (when `why_terms` > 0) each row's terms that raised its predicted class's score
        most, strongest first, joined by ` | `."""
        if why_terms > 0:
            counts, spans = self.featurizer.counts_and_spans(texts)
        else:
            counts, spans = self.featurizer.counts(texts), None
        scores, terms = self._scores(counts)
        probs = self._proba(scores)
        seen = int(counts.count[terms.known].sum()) if terms is not None else 0
        occurrences = int(counts.count.sum())
        why = None
        if spans is not None:
            why = [""] * len(texts)
            if terms is not None:
                why = self._why(probs.argmax(axis=1), terms, counts, spans, why_terms, why)
        return Explained(probs, (occurrences - seen, occurrences), why)

    def _why(
        self,
        predicted: np.ndarray,
        terms: _Terms,
        counts: Counts,
        spans: NgramSpans,
        k: int,
        why: list[str],
    ) -> list[str]:
        t = self.tables
        binary = t.n_classes == 2
        # each known pair's part of its row's score for the row's predicted class, up to the
        # row's norm (the same for all of a row's pairs: it does not change their order)
        if binary:  # one score for class 1: class 0's evidence is its opposite
            push = terms.u * t.numerator[terms.at, 0]
            push = np.where(predicted[terms.rows] == 1, push, -push)
        else:
            push = terms.u * t.numerator[terms.at, predicted[terms.rows]]
        positive = np.flatnonzero(push > 0)
        if not len(positive):
            return why
        # the strongest pushes of each row, ties to the lower column (the same in any chunk:
        # a large file's parts write what one job writes): k rounds of a maximum per row
        # (pairs are sorted by row, so a row's pairs are one segment)
        rows_of = terms.rows[positive]
        starts = np.flatnonzero(np.concatenate([[True], rows_of[1:] != rows_of[:-1]]))
        segment = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(rows_of))))
        left = push[positive].astype(np.float64)
        picked = []
        for _ in range(CANDIDATES * k):
            best = np.maximum.reduceat(left, starts)
            at = np.flatnonzero(left == best[segment])
            first = at[np.concatenate([[True], segment[at][1:] != segment[at][:-1]])]
            first = first[left[first] > 0]
            if not len(first):
                break
            picked.append(first)
            left[first] = -np.inf
        keep = positive[np.concatenate(picked)] if picked else positive[:0]
        names = spans.spans(terms.rows[keep], counts.column[terms.known][keep])
        chosen: dict[int, list[str]] = {}
        for row, name in zip(terms.rows[keep].tolist(), names, strict=True):
            mine = chosen.setdefault(row, [])
            name = name.strip(PUNCTUATION)
            if len(mine) < k and name and not any(name in m or m in name for m in mine):
                mine.append(name)
        for row, mine in chosen.items():
            why[row] = " | ".join(mine)
        return why
