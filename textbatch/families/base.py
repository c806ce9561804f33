"""What a model family is: the hooks that the train job, the predict job and the trigger call.

A family owns its configuration checks, its `fit` (labelled rows in, a fitted model out, its
progress logged as events), its classifier (`prepare` in the predict job's workers, `predict`
in its main process) and the layout of its weights. The train job (textbatch.jobs.train) keeps
the data, the split and the publishing; it asks the family the rest and knows no family name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from textbatch.errors import ConfigError

if TYPE_CHECKING:  # types only: a family module imports neither torch nor the config's loader
    from textbatch.config import ModelConfig
    from textbatch.io.storage import Storage
    from textbatch.model.artifacts import Model, Transformer
    from textbatch.model.spec import ModelSpec
    from textbatch.model.splits import Split

# A configuration key's check: (is the value allowed, what is allowed in words)
Rule = tuple[Any, str]


class Log(Protocol):
    """Where a fit logs its events (the train job's textbatch.jobs.events.EventLog)."""

    def emit(self, event: str, **fields: Any) -> Any: ...


@dataclass(frozen=True)
class TrainingData:
    """The rows a family fits, after the train job read, labelled and split them."""

    texts: list[str]
    y: np.ndarray  # each row's label id
    split: Split
    rows: np.ndarray  # each row's row number in its file
    source: str  # the file's name (the knn's neighbours name it)
    base: Model | None = None  # extending a published model (`--base-model`), if the family can
    storage: Storage | None = None  # the job's (a family that fetches more, from S3, uses it)


@dataclass(frozen=True)
class Fitted:
    """A trained model before it is written: its weights, what rebuilds it, how it did."""

    weights: dict[str, np.ndarray]
    spec: ModelSpec
    transformer: Transformer
    best_epoch: int
    epochs_run: int
    predicted: np.ndarray  # the best epoch's predicted class ids of the validation rows
    device: str = "cpu"  # where it was trained
    # (validation rows, classes): each class's probability, from the model as it was validated
    # (before a refit on every row: rows it had not seen); the ensemble's weight is chosen on it
    probabilities: np.ndarray | None = None
    # the share of the validation rows' n-gram occurrences that no training row held (the
    # shift warning's baseline; None: the family cannot tell)
    unseen: float | None = None

    @property
    def confidence(self) -> np.ndarray | None:
        """Each validation row's predicted probability."""
        if self.probabilities is None:
            return None
        return self.probabilities.max(axis=1) if len(self.probabilities) else np.zeros(0)


@dataclass(frozen=True)
class RowNotes:
    """What a classifier can tell about a chunk besides its probabilities (from prepare)."""

    unseen: tuple[int, int] | None = None  # its n-grams (tokens) never seen in training, all
    why: list[str] | None = None  # each row's terms that pushed its prediction most


class Classifier(Protocol):
    labels: list[str]
    device: str  # where inference runs: "cpu" or "cuda"
    extra_columns: tuple[str, ...]  # output columns after the probabilities (knn: neighbors)
    explains: bool  # it can write the `why` column (the linear families)
    why_terms: int  # terms in each row's `why`, set before prepare runs (0: none)

    def prepare(self, texts: list[str]) -> Any:
        """The part that runs in a worker process (no torch call)."""
        ...

    def predict(self, prepared: Any) -> np.ndarray:
        """(rows, n_classes) float32 probabilities from what prepare returned."""
        ...

    def extras(self, prepared: Any) -> list[list[str]]:
        """Each row's cells of extra_columns (none for most models)."""
        ...

    def notes(self, prepared: Any) -> RowNotes:
        """The chunk's unseen n-grams and each row's why, where the family can tell."""
        ...


class ProbabilitiesOnly:
    """A classifier that writes no column but the prediction and the probabilities."""

    extra_columns: tuple[str, ...] = ()
    explains = False
    why_terms = 0

    def extras(self, prepared: Any) -> list[list[str]]:
        return []

    def notes(self, prepared: Any) -> RowNotes:
        return RowNotes()


class Family:
    """One architecture. Subclasses set the traits and implement fit and classifier."""

    name: str
    wants_gpu: bool = False  # the trigger routes its predict jobs to the GPU queue
    trains_with_torch: bool = True  # its fit imports torch (the CPU image has none)
    hashed_features: bool = False  # hashed word n-grams (textbatch.model.hashing): no vocabulary
    extends_base: bool = False  # `train --base-model` adds rows to a published model of it

    def check(self, config: ModelConfig, source: str) -> None:
        """Problems between keys that this family reads (each key alone is checked already)."""
        buckets = config.ngram_buckets
        if self.hashed_features and (
            buckets < 1024 or buckets > 1 << 31 or buckets & (buckets - 1)
        ):
            raise ConfigError(
                f"{source}: ngram_buckets = {buckets} does not suit {self.name}; expected a "
                "power of two from 1024 to 2147483648",
                hint="4194304 (2**22) is a good start; more columns, fewer hash collisions",
            )

    def device(self) -> str:
        """Where fit will run: "cpu" unless the family trains a torch network."""
        return "cpu"

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        raise NotImplementedError

    def classifier(self, model: Model) -> Classifier:
        raise NotImplementedError


def predict_texts(classifier: Classifier, texts: list[str]) -> np.ndarray:
    """Both steps of a classifier in this process."""
    return classifier.predict(classifier.prepare(texts))
