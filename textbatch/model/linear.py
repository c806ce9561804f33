"""The NB-weighted linear model's numpy side: features, log-count ratios, prediction.

A text's features are the distinct ids it contains (words, then hashed word bigrams); each
counts once, scaled by 1/sqrt(number of distinct ids) (unit L2 norm) and by its naive-Bayes
log-count ratio per class (Wang & Manning 2012, "NBSVM"). The score of a class is linear in
those features, so prediction needs no torch: the trained weights and the ratios fold into one
(rows, classes) table, and a chunk of texts costs one gather and one sum.
"""

from __future__ import annotations

import numpy as np

from textbatch.model.nbsvm import log_count_ratios
from textbatch.model.transformer import PAD_ID, TextTransformer


def distinct_ids(ids: np.ndarray) -> np.ndarray:
    """Each row's ids sorted, with repeats replaced by padding: every feature counts once."""
    ordered = np.sort(ids, axis=1)
    ordered[:, 1:][ordered[:, 1:] == ordered[:, :-1]] = PAD_ID
    return ordered


def nb_ratios(ids: np.ndarray, labels: np.ndarray, *, rows: int, n_classes: int) -> np.ndarray:
    """(rows, n_classes) float32: for each class c and feature f, log of the share of f among
    the features of texts of class c over its share among the other texts (one-vs-rest),
    with add-one smoothing. Rows never seen in training get ratio 0 and so never count."""
    distinct = distinct_ids(ids)
    counts = np.stack(
        [np.bincount(distinct[labels == c].ravel(), minlength=rows) for c in range(n_classes)]
    )
    counts[:, PAD_ID] = 0
    ratios = log_count_ratios(counts)
    ratios[counts.sum(axis=0) == 0] = 0.0
    return ratios


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class LinearScorer:
    """Class probabilities of the NB-weighted linear model, in numpy."""

    def __init__(self, weight: np.ndarray, ratios: np.ndarray, bias: np.ndarray) -> None:
        self.table = (weight * ratios).astype(np.float32)  # (rows, classes)
        self.bias = bias.astype(np.float32)

    def predict_proba(self, ids: np.ndarray) -> np.ndarray:
        distinct = distinct_ids(ids)
        rows, cols = np.nonzero(distinct)  # padding is id 0: only the present features cost
        features = distinct[rows, cols]
        scale = 1 / np.sqrt(np.maximum(np.bincount(rows, minlength=len(ids)), 1))
        weights = scale[rows]
        logits = np.stack(
            [
                np.bincount(rows, weights=weights * self.table[features, c], minlength=len(ids))
                for c in range(self.table.shape[1])
            ],
            axis=1,
        )
        return softmax(logits + self.bias).astype(np.float32)

    def why(
        self, ids: np.ndarray, predicted: np.ndarray, k: int, transformer: TextTransformer
    ) -> list[str]:
        """Each row's k features that raised its predicted class's score most, as words and
        word pairs ("<unk>" for a word out of the vocabulary), strongest first."""
        distinct = distinct_ids(ids)
        push = self.table[distinct, predicted[:, None]]
        push[distinct == PAD_ID] = 0.0
        top = np.argsort(-push, axis=1, kind="stable")[:, :k]
        seq, words = transformer.seq_len, transformer.tokens
        out = []
        for row in range(len(ids)):
            terms = []
            for at in top[row].tolist():
                feature = int(distinct[row, at])
                if push[row, at] <= 0:
                    break
                if feature < len(words):
                    terms.append(words[feature])
                    continue
                # a bigram bucket: the first adjacent pair of the row that hashed to it
                j = int(np.flatnonzero(ids[row, seq:] == feature)[0])
                terms.append(f"{words[ids[row, j]]} {words[ids[row, j + 1]]}")
            out.append(" | ".join(terms))
        return out
