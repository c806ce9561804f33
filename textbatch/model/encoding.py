"""A classifier's `prepare` step on several cores, while the caller does the rest (read,
predict, write).

Workers are forked processes that only run `prepare` (tokenize and encode, or score a numpy
model: no torch call), fed a bounded number of chunks ahead, so memory stays flat however long
the input, and results come back in input order. With one core, or where fork is unavailable,
prepare runs in the caller.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_worker_prepare: Callable[[list[str]], Any] | None = None


def _prepare(texts: list[str]) -> Any:
    assert _worker_prepare is not None
    return _worker_prepare(texts)


def default_workers() -> int:
    return min(len(os.sched_getaffinity(0)), 8)


def prepared(
    items: Iterable[tuple[T, list[str]]], prepare: Callable[[list[str]], Any], *, workers: int
) -> Iterator[tuple[T, Any]]:
    """For each (tag, texts) item, in order: (tag, prepare(texts))."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for tag, texts in items:
            yield tag, prepare(texts)
        return
    global _worker_prepare
    _worker_prepare = prepare  # inherited by the forked workers
    prepare([])  # builds what it builds lazily (a spaCy tokenizer) once, before forking
    pending: deque[tuple[T, Any]] = deque()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for tag, texts in items:
            pending.append((tag, pool.apply_async(_prepare, (texts,))))
            if len(pending) >= 2 * workers:
                done_tag, result = pending.popleft()
                yield done_tag, result.get()
        while pending:
            done_tag, result = pending.popleft()
            yield done_tag, result.get()
