"""Which predictions a person should check: the confidence thresholds a version validates at
train time, and each predicted row's routing at predict time.

At train time, from the validation rows (whole groups held out when a group column is set),
the threshold of a predicted class is the lowest confidence such that the predictions of that
class at or above it reach the target precision on those rows: the most rows auto-accepted at
that precision. A class with fewer than MIN_CLASS_ROWS validation predictions takes the overall
threshold (the same rule over every class's predictions). No threshold reaches the target
when even the most confident predictions miss it: then every prediction of the class is
reviewed (threshold None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from textbatch_contract import review as names

MIN_CLASS_ROWS = 50  # validation predictions of a class for a threshold of its own


def _threshold(confidence: np.ndarray, correct: np.ndarray, target: float) -> dict[str, Any]:
    """The lowest confidence at which the predictions at or above it reach `target`, with the
    share of these rows it accepts and the precision it has there."""
    n = len(confidence)
    if n == 0:
        return {"threshold": None, "coverage": 0.0, "precision": None, "rows": 0}
    order = np.argsort(-confidence, kind="stable")
    conf, hit = confidence[order], correct[order].astype(np.float64)
    # a cut is only between distinct confidences: rows tied with the last one accepted go too
    last_of_value = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))
    precision = np.cumsum(hit)[last_of_value] / (last_of_value + 1)
    good = np.flatnonzero(precision >= target)
    if len(good) == 0:
        return {"threshold": None, "coverage": 0.0, "precision": None, "rows": n}
    cut = last_of_value[good[-1]]
    return {
        "threshold": round(float(conf[cut]), 6),
        "coverage": round((cut + 1) / n, 4),
        "precision": round(float(precision[good[-1]]), 4),
        "rows": n,
    }


def choose_thresholds(
    predicted: np.ndarray,
    confidence: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    target: float,
) -> dict[str, Any]:
    """The version's `review` document: the target, the overall and per-class thresholds, and
    the coverage and precision they give together on the validation rows."""
    correct = predicted == y
    # as the predict job compares them: written with 6 places (ties at a cut go together)
    confidence = np.round(confidence.astype(np.float64), 6)
    overall = _threshold(confidence, correct, target)
    per_class: dict[str, dict[str, Any]] = {}
    for c, label in enumerate(labels):
        mine = predicted == c
        if mine.sum() >= MIN_CLASS_ROWS:
            per_class[label] = {**_threshold(confidence[mine], correct[mine], target), "own": True}
        else:
            per_class[label] = {"threshold": overall["threshold"], "own": False}
    thresholds = Thresholds.from_document({"per_class": per_class}, labels)
    accepted = thresholds.accepts(predicted, confidence)
    return {
        "target_precision": target,
        "validation_rows": len(y),
        "overall": overall,
        "per_class": per_class,
        # the classes' thresholds together, on the validation rows
        "coverage": round(float(accepted.mean()), 4) if len(y) else 0.0,
        "precision": round(float(correct[accepted].mean()), 4) if accepted.any() else None,
    }


@dataclass(frozen=True)
class Thresholds:
    """A loaded version's thresholds, one per class id (inf: every prediction reviewed)."""

    by_class: np.ndarray  # float64 (n_classes,)
    target: float | None  # the precision they were validated at; None: the version has none
    validated: float | None  # the precision they gave together on the validation rows

    @classmethod
    def from_document(cls, document: dict[str, Any] | None, labels: list[str]) -> Thresholds:
        """From a version's `review` document; a version trained before thresholds existed
        has none, and accepts every prediction (only disagreements are routed)."""
        if not document:
            return cls(np.zeros(len(labels)), None, None)
        per_class = document.get("per_class", {})
        values = [per_class.get(label, {}).get("threshold") for label in labels]
        return cls(
            np.array([np.inf if v is None else float(v) for v in values]),
            document.get("target_precision"),
            document.get("precision"),
        )

    def accepts(self, predicted: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        # compared as written in the output (6 places), so a row routes the same when re-read
        return np.round(confidence, 6) >= self.by_class[predicted]


def route(confident: bool, prediction: str, submitted: str | None) -> str:
    """A predicted row's review reason, "" when it needs no person. `submitted`: the compare
    column's value (None or empty: nothing to compare)."""
    if not confident:
        return names.LOW_CONFIDENCE
    if submitted and submitted.strip() != prediction:
        return names.DISAGREES
    return ""


def sort_key(reason: str, confidence: str, row: int) -> tuple[int, float, int]:
    """A review row's place in the review file: disagreements first, the most confident first
    (a confident model against the submitter: most likely the submitter's slip), then the
    least confident; ties in input order. `confidence` as written in the output."""
    value = float(confidence)
    if reason == names.DISAGREES:
        return (0, -value, row)
    return (1, value, row)
