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
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from textbatch_contract.jobs import VCPUS_ENV

T = TypeVar("T")
_worker_prepare: Callable[[list[str]], Any] | None = None


def _worker_started() -> None:
    """Workers die on SIGTERM (the pool's terminate sends it), whatever handler the job set for
    itself (textbatch.cli.main's Stopped): a Python-level handler can be left waiting in a
    worker blocked on the pool's queue lock, and the pool's join with it. A worker is forked
    with SIGTERM blocked (see `_forked_pool`), so a SIGTERM that comes before this line waits
    for it, and then ends the worker silently instead of raising the job's Stopped in it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _forked_pool(workers: int) -> Any:
    """A fork pool whose workers start with SIGTERM blocked until their initializer has reset
    its handler; in this process SIGTERM is blocked only while forking (one that comes then is
    handled right after, by the job's own handler)."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        return multiprocessing.get_context("fork").Pool(workers, initializer=_worker_started)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _prepare(texts: list[str]) -> Any:
    assert _worker_prepare is not None
    return _worker_prepare(texts)


MAX_WORKERS = 8
IN_FLIGHT_WEIGHT = 32_000_000  # characters of texts queued for the workers at most


def default_workers() -> int:
    """The job's vCPUs when it runs on Batch, else the cores this process may use; at most 8."""
    cores = len(os.sched_getaffinity(0))
    declared = os.environ.get(VCPUS_ENV, "")
    if declared.isdigit() and int(declared) > 0:
        cores = min(cores, int(declared))
    return min(cores, MAX_WORKERS)


def prepared(
    items: Iterable[tuple[T, list[str]]],
    prepare: Callable[[list[str]], Any],
    *,
    workers: int,
    weight: Callable[[list[str]], int] | None = None,
) -> Iterator[tuple[T, Any]]:
    """For each (tag, texts) item, in order: (tag, prepare(texts)). At most 2 x workers items
    are queued ahead and, with `weight`, at most IN_FLIGHT_WEIGHT of their weight (one item
    always)."""
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for tag, texts in items:
            yield tag, prepare(texts)
        return
    global _worker_prepare
    _worker_prepare = prepare  # inherited by the forked workers
    prepare([])  # builds what it builds lazily (a spaCy tokenizer) once, before forking
    pending: deque[tuple[T, Any, int]] = deque()
    queued = 0
    with _forked_pool(workers) as pool:
        for tag, texts in items:
            cost = weight(texts) if weight else 0
            while pending and (len(pending) >= 2 * workers or queued + cost > IN_FLIGHT_WEIGHT):
                done_tag, result, done_cost = pending.popleft()
                queued -= done_cost
                yield done_tag, result.get()
            pending.append((tag, pool.apply_async(_prepare, (texts,)), cost))
            queued += cost
        while pending:
            done_tag, result, _ = pending.popleft()
            yield done_tag, result.get()
