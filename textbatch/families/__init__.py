"""The model families, by architecture name: what the train job fits, the predict job loads and
the trigger routes (its `wants_gpu` reaches the trigger through each version's manifest).

Adding a family: one module here with a `Family` subclass (textbatch.families.base: its traits,
`fit`, `classifier`, and `check` for keys that only it reads, with their `RULES`), and one line
in FAMILIES below (docs/models.md, "Adding a model family"). The registry imports no torch:
a family imports it inside the `fit` or `classifier` that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textbatch.errors import ConfigError
from textbatch.families import knn, nbsvm, networks
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
    )
}
NAMES = tuple(FAMILIES)
# the configuration keys that only some families read, with their checks
RULES: dict[str, Rule] = {**networks.RULES, **nbsvm.RULES, **knn.RULES}


def family(name: str) -> Family:
    """The family of an architecture name (a config's `network`, a version's `architecture`)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown architecture {name!r}", hint=f"use one of {', '.join(NAMES)}"
        ) from None


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
    "family",
    "predict_texts",
]
