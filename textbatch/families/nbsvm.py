"""The `nbsvm` family: NB-weighted TF-IDF of hashed word n-grams, one squared-hinge score per
class (the math: textbatch.model.nbsvm; its fit: textbatch.model.nbsvm_fit). Predicts in numpy
on every core of a CPU; fits with L-BFGS in numpy (no torch)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
from textbatch_contract import events

from textbatch.families.base import (
    Family,
    Fitted,
    Log,
    ProbabilitiesOnly,
    RowNotes,
    Rule,
    TrainingData,
)
from textbatch.model.hashing import Counts, HashingFeaturizer
from textbatch.model.nbsvm import (
    TERM_FREQUENCIES,
    Explained,
    NbsvmScorer,
    NbsvmTables,
    class_logits,
    softmax,
)
from textbatch.model.spec import ModelSpec

if TYPE_CHECKING:
    from textbatch.config import ModelConfig
    from textbatch.model.artifacts import Model

RULES: dict[str, Rule] = {
    "svm_c": ((lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0),
              "a number > 0"),
    "refit": ((lambda v: isinstance(v, bool)), "true or false"),
    "min_df": ((lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1),
               "an integer >= 1"),
    "term_frequency": ((lambda v: v in TERM_FREQUENCIES),
                       " or ".join(f'"{t}"' for t in TERM_FREQUENCIES)),
}  # fmt: skip


class Nbsvm(Family):
    name = "nbsvm"
    trains_with_torch = False  # L-BFGS in numpy (textbatch.model.lbfgs)
    hashed_features = True

    def fit(self, config: ModelConfig, data: TrainingData, log: Log) -> Fitted:
        from textbatch.model import nbsvm_fit  # scipy.sparse: only to train

        featurizer = HashingFeaturizer(
            ngrams=config.ngrams, buckets=config.ngram_buckets, tokens=config.hashed_tokens
        )
        counts = featurizer.counts(data.texts)
        y, split = data.y, data.split
        prepared = nbsvm_fit.prepare(
            counts, y, split.train, split.validation, config.n_classes,
            min_df=config.min_df, tf=config.term_frequency,
        )  # fmt: skip
        log.emit("features", columns=len(prepared.columns), ngrams=config.ngrams)
        result = nbsvm_fit.fit(
            prepared,
            c=config.svm_c,
            epochs=config.num_epoch,
            patience=config.early_stopping_patience,
            on_epoch=lambda **values: log.emit(events.VALIDATION, **values),
        )
        if result.epochs_run < config.num_epoch:
            log.emit(events.EARLY_STOP, epoch=result.epochs_run, best_epoch=result.best_epoch)
        tables = result.tables
        if config.refit and len(split.validation):
            # the validation rows chose the epoch count and the temperature; now learn from them
            every = np.arange(len(y))
            refitted = nbsvm_fit.fit(
                nbsvm_fit.prepare(
                    counts,
                    y,
                    every,
                    every[:0],
                    config.n_classes,
                    min_df=config.min_df,
                    tf=config.term_frequency,
                ),
                c=config.svm_c,
                epochs=result.best_epoch,
                patience=0,
                on_epoch=lambda **values: log.emit("refit", **values),
            )
            tables = dataclasses.replace(refitted.tables, temperature=tables.temperature)
        spec = ModelSpec.from_config(config, vocab_rows=len(tables.columns), embed_size=0)
        logits = class_logits(result.validation_scores, config.n_classes)
        probabilities = softmax(logits / result.tables.temperature) if len(logits) else logits
        return Fitted(
            to_weights(tables),
            spec,
            featurizer,
            result.best_epoch,
            result.epochs_run,
            result.predicted,
            probabilities=probabilities,
            unseen=unseen_share(counts, prepared.columns, split.validation),
        )

    def classifier(self, model: Model) -> NbsvmClassifier:
        return NbsvmClassifier(model)


class NbsvmClassifier(ProbabilitiesOnly):
    def __init__(self, model: Model) -> None:
        self.labels = model.labels
        self.device = "cpu"
        self.scorer = NbsvmScorer(model.transformer, from_weights(model.weights))  # type: ignore[arg-type]

    explains = True

    def prepare(self, texts: list[str]) -> Explained:
        return self.scorer.predict_explained(texts, self.why_terms)

    def predict(self, prepared: Explained) -> np.ndarray:
        return prepared.probabilities

    def notes(self, prepared: Explained) -> RowNotes:
        return RowNotes(unseen=prepared.unseen, why=prepared.why)


def unseen_share(counts: Counts, columns: np.ndarray, validation: np.ndarray) -> float | None:
    """The share of the validation rows' n-gram occurrences outside `columns`, the features
    the training rows gave the model (after min_df): what a file's unseen share is measured
    against."""
    in_validation = np.isin(counts.row, validation)
    total = float(counts.count[in_validation].sum())
    if not total:
        return None
    unseen = in_validation & ~np.isin(counts.column, columns)
    return float(counts.count[unseen].sum()) / total


def to_weights(tables: NbsvmTables) -> dict[str, np.ndarray]:
    return {
        "columns": tables.columns,
        "numerator": tables.numerator,
        "denominator": tables.denominator,
        "bias": tables.bias,
        "temperature": np.array([tables.temperature], dtype=np.float64),
        "n_classes": np.array([tables.n_classes], dtype=np.int64),
        # 0: sublinear, 1: binary (a version saved before the key: sublinear)
        "term_frequency": np.array([TERM_FREQUENCIES.index(tables.term_frequency)], dtype=np.int64),
    }


def from_weights(weights: dict[str, Any]) -> NbsvmTables:
    return NbsvmTables(
        columns=weights["columns"],
        numerator=weights["numerator"],
        denominator=weights["denominator"],
        bias=weights["bias"],
        temperature=float(weights["temperature"][0]),
        n_classes=int(weights["n_classes"][0]),
        term_frequency=TERM_FREQUENCIES[int(weights["term_frequency"][0])]
        if "term_frequency" in weights
        else "sublinear",
    )
