"""The torch networks of the blog and after it: `cnn`, `lstm` and `bag` (the modules:
textbatch.model.networks). A vocabulary of the training rows' tokens (textbatch.model.
transformer), optionally spaCy's vectors as the embedding's start, the training loop of
textbatch.families.torch_loop, and batched inference on the best device (the GPU when there is
one). torch is imported only when a network is trained or loaded, never by the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textbatch.errors import ConfigError
from textbatch.families.base import Classifier, Family, Fitted, Log, Rule, TrainingData

if TYPE_CHECKING:
    from textbatch.config import ModelConfig
    from textbatch.model.artifacts import Model

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
TOKENIZERS = ("spacy", "fast")


def _int_at_least(low: int) -> Rule:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low), (
        f"a whole number >= {low}"
    )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_BOOL: Rule = (lambda v: isinstance(v, bool)), "true or false"

# the configuration keys that only the networks read (nb_linear's too)
RULES: dict[str, Rule] = {
    "optimizer": ((lambda v: v in OPTIMIZERS), f"one of {', '.join(OPTIMIZERS)}"),
    "seq_len": _int_at_least(1),
    "vocab_size": _int_at_least(1),
    "batch_size": _int_at_least(1),
    "hidden_size": _int_at_least(1),
    "embed_size": _int_at_least(1),
    "dropout": (
        (lambda v: _number(v) and 0 <= v < 1),
        "a number from 0 up to (not including) 1",
    ),
    "n_layers": _int_at_least(1),
    "bidirectional": _BOOL,
    "train_log_interval": _int_at_least(1),
    "val_log_interval": _int_at_least(1),
    "learning_rate": ((lambda v: _number(v) and v > 0), "a number > 0"),
    "use_spacy_pretrained": _BOOL,
    "epoch_factor": _int_at_least(1),
    "power_decay": _BOOL,
    "wd": ((lambda v: _number(v) and v >= 0), "a number >= 0"),
    "kernel_size": _int_at_least(1),
    "spacy_model": ((lambda v: isinstance(v, str) and v != ""), "a spaCy package name or path"),
    "tokenizer": ((lambda v: v in TOKENIZERS), f"one of {', '.join(TOKENIZERS)}"),
}


class Network(Family):
    """A torch network trained by the loop; `bigram_buckets`: hashed word-bigram ids after
    the vocabulary's (ngram_buckets of them)."""

    trains_with_torch = True
    bigram_buckets = False
    clip_gradients = False  # the LSTM's: gradient norm clipped to 5
    has_embeddings = True

    def __init__(self, name: str, *, wants_gpu: bool, **traits: bool) -> None:
        self.name = name
        self.wants_gpu = wants_gpu
        for trait, value in traits.items():
            setattr(self, trait, value)

    def device(self) -> str:
        from textbatch.model.device import select_device

        return select_device().type

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        from textbatch.families import torch_loop

        return torch_loop.fit_network(self, config, data, log)

    def start(self, network: Any, spec: Any, x_train: Any, y_train: Any) -> None:
        """Set up a freshly built network from the training rows before the loop (a hook)."""

    def classifier(self, model: Model) -> Classifier:
        from textbatch.families.torch_classifier import NetworkClassifier

        return NetworkClassifier(model)


class Cnn(Network):
    def check(self, config: ModelConfig, source: str) -> None:
        if config.kernel_size > config.seq_len:
            raise ConfigError(
                f"{source}: kernel_size = {config.kernel_size} is longer than "
                f"seq_len = {config.seq_len}",
                hint="a CNN needs kernel_size <= seq_len",
            )
