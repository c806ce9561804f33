"""Validation and benchmark splits: by row (stratified) or by group (whole groups held out).

A random split of one file puts rows of the same customer, product, movie or thread on both
sides and so rewards memorising them; holding out whole groups measures what a model does on
rows it has never seen anything of, which is how it will be used. Both splits are stratified
by label as far as the groups allow, seeded and repeatable. Pure numpy: the train job and the
benchmark call the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from textbatch.errors import InputError


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # sorted row indices
    validation: np.ndarray
    by: str  # "row" or "group:<column>"
    groups: int = 0  # distinct groups in the data (by group only)
    validation_groups: int = 0

    def describe(self) -> dict[str, Any]:
        """What metrics.json and the train log say of the split."""
        described: dict[str, Any] = {
            "by": self.by,
            "train_rows": len(self.train),
            "validation_rows": len(self.validation),
        }
        if self.groups:
            described |= {"groups": self.groups, "validation_groups": self.validation_groups}
        return described


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> Split:
    """`fraction` of each class, at least one row of every class that has two or more, goes
    to validation."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        n_val = 0 if len(members) < 2 else max(1, round(len(members) * fraction))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return Split(np.sort(np.concatenate(train)), np.sort(np.concatenate(val)), by="row")


def group_ids(groups: list[str]) -> np.ndarray:
    """Dense group ids; a row with an empty group value is a group of its own."""
    ids: dict[str, int] = {}
    out = np.empty(len(groups), dtype=np.int64)
    for row, value in enumerate(groups):
        key = value.strip()
        out[row] = ids.setdefault(key if key else f"\0row{row}", len(ids))
    return out


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number (0..k-1) for each row; every group lies in one fold, folds of about
    equal size, stratified as far as the groups allow (see `_deal`)."""
    return _deal(y, groups, np.full(k, 1.0 / k), seed)[groups]


def _deal(y: np.ndarray, groups: np.ndarray, shares: np.ndarray, seed: int) -> np.ndarray:
    """A bin for each group. Groups are dealt largest first (ties in a seeded order), each to
    the bin whose rows of the group's most frequent label are furthest below that bin's
    share, so every bin gets about its share of every label."""
    n_groups = int(groups.max()) + 1
    n_classes = int(y.max()) + 1
    counts = np.zeros((n_groups, n_classes), dtype=np.int64)
    np.add.at(counts, (groups, y), 1)
    dominant = counts.argmax(axis=1)
    sizes = counts.sum(axis=1)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.permutation(n_groups), -sizes))
    filled = np.zeros((len(shares), n_classes))
    total = np.zeros(len(shares))
    bin_of_group = np.empty(n_groups, dtype=np.int64)
    for g in order:
        c = dominant[g]
        # the bin furthest below its share of label c, then of all rows, then the first
        b = int(np.lexsort((total / shares, filled[:, c] / shares))[0])
        bin_of_group[g] = b
        filled[b] += counts[g]
        total[b] += sizes[g]
    return bin_of_group


def grouped_split(
    y: np.ndarray, groups: np.ndarray, fraction: float, seed: int, *, column: str
) -> Split:
    """Whole groups held out: about `fraction` of the rows of each label go to validation."""
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups < 2:
        raise InputError(
            f"grouped validation by {column!r} needs at least 2 groups; the data has {n_groups}",
            hint="name a column with several values (a customer, a product, a thread), "
            "or drop validation_group_column for a split by row",
        )
    side = _deal(y, groups, np.array([1 - fraction, fraction]), seed)[groups]
    train, validation = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
    return Split(
        train,
        validation,
        by=f"group:{column}",
        groups=n_groups,
        validation_groups=len(np.unique(groups[validation])),
    )
