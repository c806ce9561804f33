"""Texts to token ids on several cores, while the caller does the rest (read, infer, write).

Workers are forked processes that only tokenize and encode (no torch call), fed a bounded
number of chunks ahead, so memory stays flat however long the input, and results come back in
input order. With one core, or where fork is unavailable, encoding runs in the caller.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from textbatch.model.transformer import TextTransformer

T = TypeVar("T")
_worker_transformer: TextTransformer | None = None


def _encode(texts: list[str]) -> np.ndarray:
    assert _worker_transformer is not None
    return _worker_transformer.encode(texts)


def default_workers() -> int:
    return min(len(os.sched_getaffinity(0)), 8)


def encoded(
    items: Iterable[tuple[T, list[str]]], transformer: TextTransformer, *, workers: int
) -> Iterator[tuple[T, np.ndarray]]:
    """For each (tag, texts) item, in order: (tag, ids of the texts)."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for tag, texts in items:
            yield tag, transformer.encode(texts)
        return
    global _worker_transformer
    _worker_transformer = transformer  # inherited by the forked workers
    transformer.tokenizer  # noqa: B018 - build it once, before forking
    pending: deque[tuple[T, Any]] = deque()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for tag, texts in items:
            pending.append((tag, pool.apply_async(_encode, (texts,))))
            if len(pending) >= 2 * workers:
                done_tag, result = pending.popleft()
                yield done_tag, result.get()
        while pending:
            done_tag, result = pending.popleft()
            yield done_tag, result.get()
