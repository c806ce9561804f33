"""Training the `nbsvm` model (see textbatch.model.nbsvm for what it computes), in numpy and
scipy's sparse matrices: no torch, so that it trains in the CPU image.

Data preparation turns the hashed n-gram counts of every row into, for each score column, the
NB-weighted, re-normalised TF-IDF rows as scipy sparse CSR matrices. The loop then reads like
the networks' loop: each epoch runs `LBFGS_ITERATIONS` more L-BFGS steps of every column's
L2-regularised squared-hinge problem (convex: the order of the columns does not matter),
evaluates the validation rows, keeps the best epoch's weights and stops early when
`early_stopping_patience` epochs bring no improvement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from textbatch.errors import InputError
from textbatch.model.hashing import Counts
from textbatch.model.lbfgs import LBFGS
from textbatch.model.nbsvm import (
    NbsvmTables,
    class_logits,
    fit_temperature,
    idf,
    nb_ratios,
    term_frequency,
)

LBFGS_ITERATIONS = 20
LBFGS_HISTORY = 5


@dataclass(frozen=True)
class Rows:
    """Rows as X (n, n_features) CSR of TF-IDF values, and per score column c the norm of the
    row once scaled by |r_c|: the row's features for column c are X_i * |r_c| / norm_ic."""

    x: sparse.csr_matrix
    norms: np.ndarray  # (n, n_scores)
    y: np.ndarray


@dataclass(frozen=True)
class NbsvmData:
    columns: np.ndarray  # hashed columns seen in the training rows, sorted
    idf: np.ndarray  # (n_features,)
    ratios: np.ndarray  # (n_features, n_scores) NB log-count ratios
    train: Rows
    validation: Rows
    n_classes: int
    term_frequency: str

    @property
    def n_scores(self) -> int:
        return 1 if self.n_classes == 2 else self.n_classes


def prepare(
    counts: Counts,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    n_classes: int,
    *,
    min_df: int = 1,
    tf: str = "sublinear",
) -> NbsvmData:
    """Weighting from the training rows only; validation rows keep the features seen there.
    A feature held by fewer than `min_df` training rows is dropped (1: none is); `tf`: the
    term frequency (textbatch.model.nbsvm.TERM_FREQUENCIES)."""
    position = np.full(counts.n_rows, -1, dtype=np.int64)
    position[train_idx] = np.arange(len(train_idx))
    in_train = position[counts.row] >= 0
    columns, df = np.unique(counts.column[in_train], return_counts=True)
    columns = columns[df >= min_df]
    if not len(columns):
        raise InputError(
            "the training texts hold no words or punctuation to learn from",
            hint="check the text column (--text-column)",
        )
    at = np.searchsorted(columns, counts.column)
    known = columns[np.minimum(at, len(columns) - 1)] == counts.column
    n_features = len(columns)
    trained = in_train & known
    train_at, train_rows = at[trained], counts.row[trained]
    weights = idf(np.bincount(train_at, minlength=n_features), len(train_idx))
    ratios = nb_ratios(train_at, train_rows, y, n_features)
    if n_classes == 2:
        ratios = ratios[:, 1:]
    u = term_frequency(counts, tf) * weights[np.minimum(at, n_features - 1)]

    def rows_of(rows_idx: np.ndarray) -> Rows:
        where = np.full(counts.n_rows, -1, dtype=np.int64)
        where[rows_idx] = np.arange(len(rows_idx))
        keep = known & (where[counts.row] >= 0)
        rows, cols, values = where[counts.row[keep]], at[keep], u[keep]
        order = np.argsort(rows, kind="stable")
        rows, cols, values = rows[order], cols[order], values[order]
        crow = np.zeros(len(rows_idx) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(rows_idx)), out=crow[1:])
        norms = np.stack(
            [
                np.bincount(
                    rows, weights=np.square(values * ratios[cols, c]), minlength=len(crow) - 1
                )
                for c in range(ratios.shape[1])
            ],
            axis=1,
        )
        x = sparse.csr_matrix(
            (values.astype(np.float32), cols, crow), shape=(len(rows_idx), n_features)
        )
        return Rows(x, np.maximum(np.sqrt(norms), 1e-12).astype(np.float32), y[rows_idx])

    return NbsvmData(
        columns=columns,
        idf=weights,
        ratios=ratios,
        train=rows_of(train_idx),
        validation=rows_of(val_idx),
        n_classes=n_classes,
        term_frequency=tf,
    )


def signs(y: np.ndarray, n_classes: int) -> np.ndarray:
    """(rows, n_scores): +1 where the row is of the column's class, else -1."""
    classes = [1] if n_classes == 2 else range(n_classes)
    return np.stack([np.where(y == c, 1.0, -1.0) for c in classes], axis=1)


def sum_of_squares(x: np.ndarray, block: int = 1 << 16) -> float:
    """sum(x**2) without a temporary of x's size, accurate as a pairwise sum (float32 BLAS dot
    products of short blocks, added in float64)."""
    return sum(float(x[i : i + block] @ x[i : i + block]) for i in range(0, len(x), block))


class _Problem:
    """Every score column's L2-regularised squared-hinge problem at once (they are separate:
    min sum_c 1/2 (|w_c|^2 + b_c^2) + C sum_i max(0, 1 - y_ic s_ic)^2). With M = |R| * W,
    s = (X @ M) / norms + b, so one sparse-dense product serves every column. Solved by
    L-BFGS (textbatch.model.lbfgs, torch's algorithm in numpy), LBFGS_ITERATIONS more steps per
    epoch, its curvature history carried over."""

    def __init__(self, data: NbsvmData, c: float) -> None:
        self.data, self.c = data, np.float32(c)
        self.scale = np.abs(data.ratios).astype(np.float32)
        self.xt = data.train.x.T.tocsr()
        self.signs = signs(data.train.y, data.n_classes).astype(np.float32)
        self.shape = (len(data.columns), data.n_scores)
        start = np.zeros(self.shape[0] * self.shape[1] + self.shape[1], dtype=np.float32)
        self.optimizer = LBFGS(start, max_iter=LBFGS_ITERATIONS, history_size=LBFGS_HISTORY)

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[: -self.shape[1]].reshape(self.shape), x[-self.shape[1] :]

    @property
    def w(self) -> np.ndarray:
        return self._split(self.optimizer.x)[0]

    @property
    def b(self) -> np.ndarray:
        return self._split(self.optimizer.x)[1]

    def scores(self, rows: Rows, x: np.ndarray | None = None) -> np.ndarray:
        w, b = self._split(self.optimizer.x if x is None else x)
        return np.asarray(rows.x @ (self.scale * w)) / rows.norms + b

    def _loss_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        rows = self.data.train
        w, b = self._split(x)
        active = np.maximum(1 - self.signs * self.scores(rows, x), 0)
        loss = 0.5 * sum_of_squares(x)  # |w|^2 + |b|^2: x is w then b
        loss += float(self.c) * float(np.square(active).sum())
        g = -2 * self.c * self.signs * active
        # the gradient written into one new vector, in place (no temporaries of w's size)
        out = np.empty_like(x)
        grad_w, grad_b = self._split(out)
        np.multiply(self.scale, np.asarray(self.xt @ (g / rows.norms)), out=grad_w)
        grad_w += w
        grad_b[:] = g.sum(axis=0) + b
        return loss, out

    def step(self) -> None:
        """LBFGS_ITERATIONS more steps (fewer once converged)."""
        self.optimizer.step(self._loss_and_gradient)


@dataclass(frozen=True)
class FitResult:
    tables: NbsvmTables  # the best epoch's
    best_epoch: int
    epochs_run: int
    validation_scores: np.ndarray  # the best epoch's
    predicted: np.ndarray  # the best epoch's predicted class ids of the validation rows


def fit(
    data: NbsvmData,
    *,
    c: float,
    epochs: int,
    patience: int,
    on_epoch: Callable[..., None],
) -> FitResult:
    """Train, validating after every epoch; the best epoch's model is kept (the last one when
    there are no validation rows: a refit on every row)."""
    problem = _Problem(data, c)
    best_accuracy, best_epoch, best = -1.0, 0, None
    y_val = data.validation.y
    epochs_run = 0
    for epoch in range(1, epochs + 1):
        epochs_run = epoch
        tick = time.perf_counter()
        problem.step()
        val_scores = problem.scores(data.validation).astype(np.float64)
        train_scores = problem.scores(data.train).astype(np.float64)
        predicted = class_logits(val_scores, data.n_classes).argmax(axis=1)
        accuracy = float((predicted == y_val).mean()) if len(predicted) else None
        improved = accuracy is None or accuracy > best_accuracy
        if improved:
            best_accuracy, best_epoch = accuracy or 0.0, epoch
            best = (problem.w.copy(), problem.b.copy(), val_scores, predicted)
        train_predicted = class_logits(train_scores, data.n_classes).argmax(axis=1)
        on_epoch(
            epoch=epoch,
            accuracy=accuracy,
            train_accuracy=float((train_predicted == data.train.y).mean()),
            best=improved,
            seconds=time.perf_counter() - tick,
        )
        if patience and epoch - best_epoch >= patience:
            break
    assert best is not None
    w, bias, val_scores, predicted = best
    scaled = data.idf[:, None] * data.ratios
    tables = NbsvmTables(
        columns=data.columns,
        numerator=(np.abs(scaled) * w).astype(np.float32),
        denominator=np.square(scaled).astype(np.float32),
        bias=bias.astype(np.float32),
        temperature=fit_temperature(val_scores, y_val, data.n_classes) if len(y_val) else 1.0,
        n_classes=data.n_classes,
        term_frequency=data.term_frequency,
    )
    return FitResult(tables, best_epoch, epochs_run, val_scores, predicted)
