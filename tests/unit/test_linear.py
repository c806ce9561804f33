"""The NB-weighted linear model: features, ratios, and numpy prediction equal to the network's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.model.linear import LinearScorer, distinct_ids, nb_ratios
from textbatch.model.networks import build_network
from textbatch.model.spec import ModelSpec


def test_distinct_ids_keeps_each_id_once_and_drops_nothing_else() -> None:
    ids = np.array([[5, 3, 5, 0, 0], [7, 7, 7, 2, 0]])
    distinct = distinct_ids(ids)
    assert [sorted(set(row) - {0}) for row in distinct.tolist()] == [[3, 5], [2, 7]]
    assert (distinct != 0).sum(axis=1).tolist() == [2, 2]


def test_nb_ratios_favour_the_class_a_feature_appears_in() -> None:
    # id 2 only in class 0 texts, id 3 only in class 1, id 4 in both, id 5 never.
    ids = np.array([[2, 4, 0], [2, 2, 4], [3, 4, 0], [3, 0, 0]])
    labels = np.array([0, 0, 1, 1])
    ratios = nb_ratios(ids, labels, rows=6, n_classes=2)
    assert ratios.shape == (6, 2)
    assert ratios[2, 0] > 0 > ratios[2, 1]
    assert ratios[3, 1] > 0 > ratios[3, 0]
    assert abs(ratios[4, 0]) < ratios[2, 0]
    assert ratios[5].tolist() == ratios[0].tolist() == [0.0, 0.0]  # unseen and padding


def test_numpy_prediction_equals_the_torch_network() -> None:
    rng = np.random.default_rng(0)
    config = ModelConfig(architecture="nb_linear", n_classes=3)
    spec = ModelSpec.from_config(config, vocab_rows=50, embed_size=1)
    network = build_network(spec).eval()
    with torch.no_grad():
        network.weight.weight.normal_()
        network.bias.normal_()
        network.ratios.copy_(torch.randn(50, 3))
    ids = rng.integers(0, 50, size=(7, 12))
    ids[:, 9:] = 0  # padding
    ids[3] = 0  # an all-padding row scores the bias alone
    with torch.no_grad():
        expected = torch.softmax(network(torch.from_numpy(ids)), dim=1).numpy()
    weights = {k: v.numpy() for k, v in network.state_dict().items()}
    scorer = LinearScorer(weights["weight.weight"], weights["ratios"], weights["bias"])
    np.testing.assert_allclose(scorer.predict_proba(ids), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("repeat", [1, 3])
def test_repeating_a_feature_does_not_change_the_score(repeat: int) -> None:
    scorer = LinearScorer(np.ones((10, 2)), np.arange(20.0).reshape(10, 2), np.zeros(2))
    once = scorer.predict_proba(np.array([[4, 6, 0, 0, 0, 0]]))
    again = scorer.predict_proba(np.array([[4] * repeat + [6] + [0] * (5 - repeat)]))
    np.testing.assert_allclose(once, again)
