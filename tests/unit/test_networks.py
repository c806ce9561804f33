from __future__ import annotations

import pytest
import torch

from textbatch.config import ModelConfig
from textbatch.model.networks import CnnClassifier, LstmClassifier, ModelSpec, build_network


def spec(cnn: bool, **overrides) -> ModelSpec:
    config = ModelConfig(
        n_classes=3, cnn=cnn, kernel_size=3, hidden_size=8, n_layers=2, dropout=0.0, **overrides
    )
    return ModelSpec.from_config(config, vocab_rows=20, embed_size=6)


@pytest.mark.parametrize(("cnn", "kind"), [(True, CnnClassifier), (False, LstmClassifier)])
def test_build_from_spec_and_forward_shape(cnn: bool, kind: type) -> None:
    network = build_network(spec(cnn))
    assert isinstance(network, kind)
    assert network(torch.randint(0, 20, (5, 10))).shape == (5, 3)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_lstm_output_ignores_trailing_padding(bidirectional: bool) -> None:
    torch.manual_seed(0)
    network = build_network(spec(False, bidirectional=bidirectional)).eval()
    short = torch.tensor([[4, 5, 6]])
    padded = torch.tensor([[4, 5, 6, 0, 0, 0, 0]])
    torch.testing.assert_close(network(short), network(padded))


def test_cnn_sees_the_blog_kernel_over_the_sequence() -> None:
    network = build_network(spec(True))
    assert network.conv.kernel_size == (3,)
    assert network.conv.in_channels == network.conv.out_channels == 6
