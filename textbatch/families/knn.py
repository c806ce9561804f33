"""The `knn` family: the nearest labelled rows by cosine over hashed TF-IDF n-grams (the index:
textbatch.model.knn). numpy only, in fit and predict; its predictions name their neighbours
(`neighbors`). The one family that `train --base-model` extends: new rows are appended to a
published index under its features and idf, nothing refitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from textbatch_contract import events

from textbatch.families.base import Family, Fitted, Log, RowNotes, Rule, TrainingData
from textbatch.model import knn, workers
from textbatch.model.hashing import TOKENS, Counts, HashingFeaturizer
from textbatch.model.nbsvm import idf
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
        the others (or, extending a base model, every new row against the base's index). A
        new index is built from chunks of the texts (knn.index_texts): the job holds the
        index and one chunk's counts, not every text's."""
        y, split = data.y, data.split
        rows = np.asarray(data.rows, dtype=np.int64)
        validation = _Validation([data.texts[i] for i in split.validation], y[split.validation])
        if data.base is None:
            featurizer = HashingFeaturizer(
                ngrams=config.ngrams, buckets=config.ngram_buckets, tokens=config.hashed_tokens
            )
            train_texts = [data.texts[i] for i in split.train]
            train_frequencies = knn.frequencies(featurizer, train_texts)
            held_out = _capped(_index(
                featurizer, train_texts, train_frequencies, config,
                labels=y[split.train], rows=rows[split.train], source=data.source,
            ), config)  # fmt: skip
            probabilities = validation.score(held_out, featurizer, config, log)
            del held_out, train_texts  # the published index is built next: every row
            index = _capped(_index(
                featurizer, data.texts,
                knn.merge_frequencies(
                    train_frequencies, knn.frequencies(featurizer, validation.texts)
                ),
                config, labels=y, rows=rows, source=data.source,
            ), config)  # fmt: skip
            sources: tuple[str, ...] = (data.source,)
        else:
            featurizer = data.base.transformer  # type: ignore[assignment]
            base = knn.KnnIndex.from_weights(dict(data.base.weights))
            counts = featurizer.counts(data.texts)
            columns, weights = knn.extend_features(base, counts)  # new rows' words count too
            probabilities = validation.score(base, featurizer, config, log)
            added = np.full(len(y), len(base.source_names))
            vectors = _index_vectors(counts, columns, weights, config)
            parts = [knn.existing(base, columns), (vectors, y, rows, added)]
            sources = (*base.source_names, data.source)
            index = _capped(knn.build_index(parts, columns, weights, sources), config)
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
        predicted = probabilities.argmax(axis=1)
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


VALIDATION_CHUNK_ROWS = 256  # validation rows searched at once by a worker


@dataclass(frozen=True)
class _Validation:
    texts: list[str]
    y: np.ndarray  # their label ids

    def score(
        self, held_out: knn.KnnIndex, featurizer: HashingFeaturizer, config: ModelConfig, log: Log
    ) -> np.ndarray:
        """The rows' probabilities from their neighbours in `held_out`, searched on every core
        as the predict job searches (a million-row index answers about 20 rows/s a core); the
        accuracy is logged."""
        scorer = knn.KnnScorer(
            featurizer, held_out, config.n_neighbors, config.n_classes, config.knn_weights
        )
        step = VALIDATION_CHUNK_ROWS
        chunks = ((i, self.texts[i : i + step]) for i in range(0, len(self.texts), step))
        searched = workers.prepared(chunks, scorer.neighbours, workers=workers.default_workers())
        found = [f for _, f in searched]
        k = min(config.n_neighbors, held_out.n_rows)
        neighbours = knn.Neighbours(
            np.concatenate([f.index for f in found] or [np.zeros((0, k), dtype=np.int64)]),
            np.concatenate([f.similarity for f in found] or [np.zeros((0, k), np.float32)]),
        )
        probabilities = knn.vote(held_out, neighbours, config.n_classes, config.knn_weights)
        accuracy = float((probabilities.argmax(axis=1) == self.y).mean()) if len(self.y) else 0.0
        log.emit(events.VALIDATION, epoch=1, accuracy=accuracy, n_neighbors=config.n_neighbors)
        return probabilities


def _index(
    featurizer: HashingFeaturizer,
    texts: list[str],
    frequencies: tuple[np.ndarray, np.ndarray],
    config: ModelConfig,
    *,
    labels: np.ndarray,
    rows: np.ndarray,
    source: str,
) -> knn.KnnIndex:
    """A new index of `texts`, its idf from their document `frequencies` (columns, counts)."""
    columns, frequency = frequencies
    return knn.index_texts(
        featurizer, texts, columns, idf(frequency, len(texts)), config.knn_max_features,
        labels=labels, source_rows=rows, source_names=(source,),
    )  # fmt: skip


def _index_vectors(
    counts: Counts, columns: np.ndarray, weights: np.ndarray, config: ModelConfig
) -> knn.Vectors:
    return knn.strongest(knn.vectors(counts, columns, weights), config.knn_max_features)


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
