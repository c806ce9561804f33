"""How unlike its model's training data a file is: the summary's `shift` block.

Three signals, each against what the version recorded at train time (its `shift` baseline):
- `unseen_ngrams`: the share of the file's n-gram occurrences that no training row held,
  minus that share on the validation rows (hashed families; others say null);
- `confidence_drop`: the validation rows' mean confidence minus the file's;
- `label_psi`: the population stability index of the predicted label mix against the training
  labels' mix, sum over labels of (file - train) * ln(file / train), each share floored at
  PSI_FLOOR.
Each has a medium and a high threshold (THRESHOLDS, stated in docs/operations.md and checked on
the shared sets: an IMDB model on 20 Newsgroups posts reads high, on held-out movies low); the
level is the highest any signal reaches. The label mix and the confidence count only from
MIN_ROWS predicted rows, the n-grams from MIN_NGRAMS: a small file's mix says little.

The block keeps its sums (`counts`) so that a large file's merge job, which adds its parts'
counts, writes the same block as one job would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from textbatch_contract import review as names

PSI_FLOOR = 1e-4
MIN_ROWS = 100
MIN_NGRAMS = 1000
CONFIDENCE_SCALE = 1_000_000  # confidences summed as integers of 1e-6: exact in any order
# signal -> (medium, high)
THRESHOLDS: dict[str, tuple[float, float]] = {
    "unseen_ngrams": (0.05, 0.15),
    "confidence_drop": (0.04, 0.10),
    "label_psi": (0.10, 0.25),
}


def baseline(
    y_train: np.ndarray,
    labels: list[str],
    validation_confidence: np.ndarray | None,
    validation_unseen: float | None,
) -> dict[str, Any]:
    """The version's `shift` document: what the files it classifies are compared with."""
    counts = np.bincount(y_train, minlength=len(labels))
    total = max(1, int(counts.sum()))
    have_confidence = validation_confidence is not None and len(validation_confidence)
    return {
        "label_mix": {
            label: round(int(n) / total, 6) for label, n in zip(labels, counts, strict=True)
        },
        "mean_confidence": (
            round(float(np.mean(validation_confidence)), 6) if have_confidence else None
        ),
        "unseen_ngrams": None if validation_unseen is None else round(validation_unseen, 6),
    }


def new_counts() -> dict[str, int]:
    return {"rows": 0, "confidence_sum": 0, "ngrams": 0, "unseen_ngrams": 0}


def add(counts: dict[str, int], confidences: np.ndarray, unseen: tuple[int, int] | None) -> None:
    """A chunk's predicted rows into the file's counts (`unseen`: its n-grams never seen in
    training and all its n-grams, or None)."""
    counts["rows"] += len(confidences)
    counts["confidence_sum"] += int(
        np.round(confidences.astype(np.float64) * CONFIDENCE_SCALE).sum()
    )
    if unseen is not None:
        counts["unseen_ngrams"] += int(unseen[0])
        counts["ngrams"] += int(unseen[1])


def merge_counts(blocks: list[dict[str, Any]]) -> dict[str, int]:
    total = new_counts()
    for block in blocks:
        for key in total:
            total[key] += int(block["counts"][key])
    return total


def psi(observed: dict[str, int], expected: dict[str, float]) -> float | None:
    n = sum(observed.values())
    if n == 0 or not expected:
        return None
    value = 0.0
    for label, share in expected.items():
        p = max(observed.get(label, 0) / n, PSI_FLOOR)
        q = max(share, PSI_FLOOR)
        value += (p - q) * math.log(p / q)
    return value


def assess(
    counts: dict[str, int], predictions: dict[str, int], training: dict[str, Any] | None
) -> dict[str, Any]:
    """The summary's `shift` block from a file's counts and predicted label counts."""
    signals: dict[str, float | None] = dict.fromkeys(THRESHOLDS)
    counted: list[str] = []
    training = training or {}
    rows = counts["rows"]
    if counts["ngrams"] and training.get("unseen_ngrams") is not None:
        share = counts["unseen_ngrams"] / counts["ngrams"]
        signals["unseen_ngrams"] = round(share - training["unseen_ngrams"], 4)
        if counts["ngrams"] >= MIN_NGRAMS:
            counted.append("unseen_ngrams")
    if rows and training.get("mean_confidence") is not None:
        mean = counts["confidence_sum"] / CONFIDENCE_SCALE / rows
        signals["confidence_drop"] = round(training["mean_confidence"] - mean, 4)
        if rows >= MIN_ROWS:
            counted.append("confidence_drop")
    value = psi(predictions, training.get("label_mix") or {})
    if value is not None:
        signals["label_psi"] = round(value, 4)
        if rows >= MIN_ROWS:
            counted.append("label_psi")
    level = 0
    reasons = []
    for name in counted:
        medium, high = THRESHOLDS[name]
        reached = 2 if signals[name] >= high else 1 if signals[name] >= medium else 0  # type: ignore[operator]
        if reached:
            reasons.append(name)
        level = max(level, reached)
    return {
        names.LEVEL: names.LEVELS[level],
        "signals": signals,
        "over_threshold": reasons,
        "counted": counted,  # the signals the file was large enough for
        "thresholds": {k: list(v) for k, v in THRESHOLDS.items()},
        "training": training,
        "counts": counts,
    }
