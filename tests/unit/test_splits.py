"""Grouped validation: whole groups on one side, stratified as far as groups allow, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.errors import InputError
from textbatch.model.splits import group_ids, grouped_folds, grouped_split


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """300 groups of 1 to 9 rows; each group leans to one of three labels (like a movie's
    reviews or a thread's posts), with a few rows of other labels."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 10, size=300)
    groups = np.repeat(np.arange(300), sizes)
    lean = rng.integers(0, 3, size=300)[groups]
    y = np.where(rng.random(len(groups)) < 0.85, lean, rng.integers(0, 3, size=len(groups)))
    return y, groups


def test_no_group_is_on_both_sides_and_every_row_is_somewhere() -> None:
    y, groups = _data()
    split = grouped_split(y, groups, 0.2, seed=1, column="movie")
    assert not set(groups[split.train]) & set(groups[split.validation])
    assert sorted(np.concatenate([split.train, split.validation])) == list(range(len(y)))
    assert split.by == "group:movie"
    assert split.groups == 300
    assert split.validation_groups == len(set(groups[split.validation]))


def test_each_label_gets_about_its_share_of_validation_rows() -> None:
    y, groups = _data()
    split = grouped_split(y, groups, 0.2, seed=1, column="movie")
    share = np.bincount(y[split.validation], minlength=3) / np.bincount(y, minlength=3)
    assert np.all(np.abs(share - 0.2) < 0.03), share
    assert abs(len(split.validation) / len(y) - 0.2) < 0.02


def test_the_split_repeats_for_a_seed_and_changes_with_it() -> None:
    y, groups = _data()
    first = grouped_split(y, groups, 0.2, seed=5, column="g")
    again = grouped_split(y, groups, 0.2, seed=5, column="g")
    other = grouped_split(y, groups, 0.2, seed=6, column="g")
    assert np.array_equal(first.validation, again.validation)
    assert not np.array_equal(first.validation, other.validation)


def test_folds_partition_the_rows_by_group_in_near_equal_sizes() -> None:
    y, groups = _data(3)
    folds = grouped_folds(y, groups, 5, seed=0)
    assert set(folds) == set(range(5))
    for g in np.unique(groups):
        assert len(set(folds[groups == g])) == 1
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 9  # at most about one group apart


def test_one_group_cannot_be_split() -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(InputError, match="needs at least 2 groups; the data has 1"):
        grouped_split(y, np.zeros(4, dtype=np.int64), 0.2, seed=0, column="customer")


def test_rows_with_an_empty_group_value_are_groups_of_their_own() -> None:
    ids = group_ids(["a", "", "a", " ", "b", ""])
    assert ids[0] == ids[2]
    assert len({ids[1], ids[3], ids[5], ids[0], ids[4]}) == 5
