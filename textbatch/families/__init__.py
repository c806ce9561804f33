"""The model families, by architecture name: what the train job fits, the predict job loads and
the trigger routes (its `wants_gpu` reaches the trigger through each version's manifest).

Adding a family: one module here with a `Family` subclass (textbatch.families.base: its traits,
`fit`, `classifier`, and `check` for keys that only it reads, with their `RULES`), and one line
in FAMILIES below (docs/models.md, "Adding a model family"). The registry imports no torch:
a family imports it inside the `fit` or `classifier` that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textbatch.config import COMMON_RULES, ModelConfig, build_config, read_json
from textbatch.errors import ConfigError
from textbatch.families import encoder, knn, nbsvm, networks
from textbatch.families.base import Classifier, Family, Fitted, Rule, TrainingData, predict_texts
from textbatch.families.nb_linear import NbLinear
from textbatch.families.networks import Cnn, Network

if TYPE_CHECKING:
    from textbatch.model.artifacts import Model

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Cnn("cnn", wants_gpu=True),
        Network("lstm", wants_gpu=True, clip_gradients=True),
        Network("bag", wants_gpu=False, bigram_buckets=True),
        NbLinear("nb_linear", wants_gpu=False, bigram_buckets=True, has_embeddings=False),
        nbsvm.Nbsvm(),
        knn.Knn(),
        encoder.Encoder(),
    )
}
NAMES = tuple(FAMILIES)
# every configuration key's check: the shared keys', the architecture's, each family's own
RULES: dict[str, Rule] = {
    **COMMON_RULES,
    "architecture": ((lambda v: v is None or v in NAMES), f"null or one of {', '.join(NAMES)}"),
    **networks.RULES,
    **nbsvm.RULES,
    **knn.RULES,
    **encoder.RULES,
}


def family(name: str) -> Family:
    """The family of an architecture name (a config's `network`, a version's `architecture`)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown architecture {name!r}", hint=f"use one of {', '.join(NAMES)}"
        ) from None


def config_from_dict(raw: object, *, source: str = "config") -> ModelConfig:
    """A config validated: each key by its rule, then by its family's checks across keys."""
    config = build_config(raw, source=source, rules=RULES)
    family(config.network).check(config, source)
    return config


def parse_config(text: str, *, source: str) -> ModelConfig:
    return config_from_dict(read_json(text, source=source), source=source)


def classifier_for(model: Model) -> Classifier:
    """The loaded version's classifier, by the architecture its spec names."""
    return family(model.spec.architecture).classifier(model)


__all__ = [
    "FAMILIES",
    "NAMES",
    "RULES",
    "Classifier",
    "Family",
    "Fitted",
    "TrainingData",
    "classifier_for",
    "config_from_dict",
    "family",
    "parse_config",
    "predict_texts",
]
