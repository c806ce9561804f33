"""The `knn` family: the nearest labelled rows by cosine over hashed TF-IDF n-grams (the index:
textbatch.model.knn). numpy only, in fit and predict; its predictions name their neighbours
(`neighbors`). The one family that `train --base-model` extends: new rows are appended to a
published index under its features and idf, nothing refitted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textbatch_contract import events

from textbatch.families.base import Family, Fitted, Log, RowNotes, Rule, TrainingData
from textbatch.model import knn
from textbatch.model.hashing import TOKENS, Counts, HashingFeaturizer
from textbatch.model.spec import ModelSpec

if TYPE_CHECKING:
    from textbatch.config import ModelConfig
    from textbatch.model.artifacts import Model


def _at_least_1(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


RULES: dict[str, Rule] = {
    "hashed_tokens": ((lambda v: v in TOKENS), " or ".join(f'"{t}"' for t in TOKENS)),
    "n_neighbors": (_at_least_1, "a whole number >= 1"),
    "knn_max_features": (_at_least_1, "a whole number >= 1"),
    "knn_weights": ((lambda v: v in knn.WEIGHTS), " or ".join(f'"{w}"' for w in knn.WEIGHTS)),
    "knn_max_postings_share": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 1,
        "a number above 0 and at most 1 (1: every posting, the exact search)",
    ),
}


class Knn(Family):
    name = "knn"
    trains_with_torch = False
    hashed_features = True
    extends_base = True

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        """The index of every labelled row. Validation: the rows held out, against an index of
        the others (or, extending a base model, every new row against the base's index)."""
        y, split = data.y, data.split
        rows = np.asarray(data.rows, dtype=np.int64)
        if data.base is None:
            featurizer = HashingFeaturizer(
                ngrams=config.ngrams, buckets=config.ngram_buckets, tokens=config.hashed_tokens
            )
            counts = featurizer.counts(data.texts)
            columns, idf = knn.fit_features(counts.subset(split.train))
            train = split.train
            held_out = _capped(knn.build_index(
                [(_index_vectors(counts.subset(train), columns, idf, config),
                  y[train], rows[train], np.zeros(len(train)))],
                columns, idf, (data.source,),
            ), config)  # fmt: skip
            columns, idf = knn.fit_features(counts)  # the published index: every row
            parts = [(_index_vectors(counts, columns, idf, config), y, rows, np.zeros(len(y)))]
            sources: tuple[str, ...] = (data.source,)
        else:
            featurizer = data.base.transformer  # type: ignore[assignment]
            held_out = knn.KnnIndex.from_weights(dict(data.base.weights))
            counts = featurizer.counts(data.texts)
            columns, idf = knn.extend_features(held_out, counts)  # the new rows' words count too
            added = np.full(len(y), len(held_out.source_names))
            parts = [knn.existing(held_out, columns),
                     (_index_vectors(counts, columns, idf, config), y, rows, added)]  # fmt: skip
            sources = (*held_out.source_names, data.source)
        validation = counts.subset(split.validation)
        found = knn.nearest(
            held_out, knn.vectors(validation, held_out.columns, held_out.idf), config.n_neighbors
        )
        probabilities = knn.vote(held_out, found, config.n_classes, config.knn_weights)
        predicted = probabilities.argmax(axis=1)
        accuracy = float((predicted == y[split.validation]).mean()) if len(predicted) else 0.0
        log.emit(events.VALIDATION, epoch=1, accuracy=accuracy, n_neighbors=config.n_neighbors)
        index = _capped(knn.build_index(parts, columns, idf, sources), config)
        log.emit(
            "index",
            rows=index.n_rows,
            features=len(index.columns),
            postings=len(index.values),
            max_postings_share=config.knn_max_postings_share,
            mib=round(index.nbytes() / 2**20, 1),
            base_model=data.base.manifest.version if data.base else None,
            sources=list(sources),
        )
        spec = ModelSpec.from_config(config, vocab_rows=len(index.columns), embed_size=0)
        return Fitted(
            index.to_weights(), spec, featurizer, 1, 1, predicted, probabilities=probabilities
        )

    def classifier(self, model: Model) -> KnnClassifier:
        return KnnClassifier(model)


def _capped(index: knn.KnnIndex, config: ModelConfig) -> knn.KnnIndex:
    """The index with its postings capped by `knn_max_postings_share` (as it is, at 1.0)."""
    if config.knn_max_postings_share >= 1:
        return index
    return knn.cap_postings(index, max(1, int(config.knn_max_postings_share * index.n_rows)))


def _index_vectors(
    counts: Counts, columns: np.ndarray, idf: np.ndarray, config: ModelConfig
) -> knn.Vectors:
    return knn.strongest(knn.vectors(counts, columns, idf), config.knn_max_features)


class KnnClassifier:
    """The nearest labelled rows: probabilities, and the rows they came from (`neighbors`)."""

    extra_columns = ("neighbors",)
    explains = False  # its neighbours say why
    why_terms = 0

    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        index = knn.KnnIndex.from_weights(dict(model.weights))
        self.scorer = knn.KnnScorer(
            model.transformer,  # type: ignore[arg-type]
            index,
            k=model.config.n_neighbors,
            n_classes=len(model.labels),
            weights=model.config.knn_weights,
        )

    def prepare(self, texts: list[str]) -> tuple[np.ndarray, list[str]]:
        return self.scorer.predict(texts)

    def predict(self, prepared: tuple[np.ndarray, list[str]]) -> np.ndarray:
        return prepared[0]

    def extras(self, prepared: tuple[np.ndarray, list[str]]) -> list[list[str]]:
        return [[refs] for refs in prepared[1]]

    def notes(self, prepared: tuple[np.ndarray, list[str]]) -> RowNotes:
        return RowNotes()
