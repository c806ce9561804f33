from __future__ import annotations

import numpy as np
import pytest

from textbatch.config import ModelConfig
from textbatch.families.torch_loop import get_lr
from textbatch.jobs.train import sorted_labels
from textbatch.model.splits import stratified_split


def test_power_decay_divides_by_ten_every_epoch_factor_epochs_without_compounding() -> None:
    config = ModelConfig(learning_rate=0.5, power_decay=True, epoch_factor=2)
    assert [get_lr(e, config) for e in range(7)] == pytest.approx(
        [0.5, 0.5, 0.05, 0.05, 0.005, 0.005, 0.0005]
    )


def test_blog_schedule_without_power_decay() -> None:
    config = ModelConfig(learning_rate=1.0, power_decay=False, epoch_factor=1)
    # the blog lowered the rate by 10% at the end of each epoch after epoch_factor
    assert [get_lr(e, config) for e in range(5)] == pytest.approx([1, 1, 1, 0.9, 0.81])


def test_stratified_split_keeps_class_shares_and_is_seeded() -> None:
    y = np.array([0] * 80 + [1] * 20 + [2] * 1)
    split = stratified_split(y, 0.25, seed=3)
    assert sorted(np.concatenate([split.train, split.validation])) == list(range(len(y)))
    # a singleton stays in train
    assert np.bincount(y[split.validation], minlength=3).tolist() == [20, 5, 0]
    assert np.array_equal(split.train, stratified_split(y, 0.25, seed=3).train)
    assert split.describe()["by"] == "row"


def test_labels_sort_numerically_when_all_integers() -> None:
    assert sorted_labels(["10", "2", "2", "-1"]) == ["-1", "2", "10"]
    assert sorted_labels(["pos", "neg", "10"]) == ["10", "neg", "pos"]


def test_the_bag_models_embedding_gets_sparse_adam_the_rest_the_configured_optimizer() -> None:
    import torch

    from textbatch.families.torch_loop import make_optimizers
    from textbatch.model.networks import ModelSpec, build_network

    config = ModelConfig(architecture="bag", optimizer="sgd", n_classes=3)
    network = build_network(ModelSpec.from_config(config, vocab_rows=50, embed_size=4))
    dense, sparse = make_optimizers(config, network)
    assert isinstance(dense, torch.optim.SGD)
    assert isinstance(sparse, torch.optim.SparseAdam)
    assert sparse.param_groups[0]["params"][0] is network.embedding.weight
    assert all(p is not network.embedding.weight for p in dense.param_groups[0]["params"])
    cnn = build_network(
        ModelSpec.from_config(ModelConfig(n_classes=3), vocab_rows=50, embed_size=4)
    )
    assert len(make_optimizers(ModelConfig(n_classes=3), cnn)) == 1
