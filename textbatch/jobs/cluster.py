"""The cluster job: a CSV of unlabelled texts in, every row with its cluster out, and a
description of each cluster (its size, its most characteristic words, three example rows).

Streams the file (memory stays flat however long it is), in passes over a local copy:
1. document frequencies of the hashed words (the CPU models' tokenizer) and a seeded
   sample of rows; the `max_features` most frequent columns seen in 2+ rows (and in no more
   than half of them) become the features, with their idf;
2. on the sample: for a range of cluster counts, each count's spherical k-means and its mean
   cosine silhouette; the count with the highest is chosen (a fixed count skips this); then
   the best of INITS Lloyd runs on the sample seeds the centres;
3. `epochs` passes of mini-batch k-means over the whole file;
4. every row assigned to its most similar centre, written in order with `cluster` and
   `distance` (1 - cosine), while each cluster keeps its three closest rows and the word
   counts of its first rows for its terms.

Outputs (textbatch_contract.OutputPlan): `<stem>_output.csv`, `<stem>_clusters.json`, then the
summary `<stem>_output.json`; or `<stem>_error.json` on an error, as the predict job does.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from textbatch_contract import OutputPlan, events, jobs

from textbatch.errors import InputError
from textbatch.io import csv_table
from textbatch.io.csv_table import TEXT_COLUMNS, CsvRecord, open_table
from textbatch.io.storage import Publisher, Storage
from textbatch.jobs.events import EventLog, run_for_file
from textbatch.jobs.predict import CHUNK_CHARS, MODEL_CHARS, record_chunks, usable_row
from textbatch.model import kmeans, knn
from textbatch.model.hashing import HashingFeaturizer
from textbatch.model.nbsvm import idf

BUCKETS = 1 << 20
NGRAMS = 1  # words: on 20 Newsgroups by thread, NMI 0.34 against 0.27 with word pairs
INITS = 5  # Lloyd runs on the sample; the best starts the mini-batch passes
MAX_FEATURES = 1 << 16  # centres are dense over these: k x 65,536 float32
BATCH_ROWS = 1024
SAMPLE_ROWS = 2000  # for choosing k and seeding the centres
SAMPLE_CHARS = 20_000  # of each sampled text
EXAMPLES = 3
EXAMPLE_CHARS = 300
TERMS = 10
TERM_ROWS = 2000  # rows per cluster whose words count towards its terms
LIFT = 2.0
WORD = re.compile(r"[^\W\d_]{3,}")
DEFAULT_RANGE = (2, 12)


@dataclass(frozen=True)
class ClusterRequest:
    input: str
    output: str
    clusters: tuple[int, int] = DEFAULT_RANGE  # a fixed count is (k, k)
    text_column: str | None = None
    input_version: str | None = None
    seed: int = 0
    epochs: int = 3


@dataclass
class ClusterSummary:
    input: str
    input_version: str | None
    output: str
    clusters_file: str
    text_column: str
    n_clusters: int = 0
    choice: dict[str, Any] = field(default_factory=dict)
    rows_in: int = 0
    rows_out: int = 0  # every input row, in order
    rows_clustered: int = 0
    rows_rejected: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    features: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    rows_per_s: float = 0.0


def parse_clusters(value: str) -> tuple[int, int]:
    """`8` (that many) or `4-12` (the best of that range by silhouette)."""
    low, _, high = value.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise InputError(f"--clusters {value!r} is not a count (8) or a range (4-12)") from None
    if not 2 <= bounds[0] <= bounds[1]:
        raise InputError(f"--clusters {value!r}: counts start at 2 and a range goes upwards")
    if bounds[1] > SAMPLE_ROWS:
        raise InputError(
            f"--clusters {value!r}: at most {SAMPLE_ROWS} clusters (the sample that starts them "
            "has that many rows)"
        )
    return bounds


def run_cluster(
    request: ClusterRequest, *, storage: Storage | None = None, log: EventLog | None = None
) -> ClusterSummary | None:
    """The file's clusters, or None when a newer revision of the upload superseded this one
    before its outcome was written (logged as `superseded`; nothing is written)."""
    storage = storage or Storage()
    log = log or EventLog(job=jobs.CLUSTER.name)
    plan = OutputPlan.for_request(request.input, request.output)
    publisher = storage.publisher(request.input, request.input_version, plan.outcome())
    return run_for_file(
        lambda: _cluster(request, plan, storage, publisher, log),
        log=log,
        publisher=publisher,
        error_uri=plan.error,
        report={"input": request.input, "input_version": request.input_version},
    )


def _cluster(
    request: ClusterRequest,
    plan: OutputPlan,
    storage: Storage,
    publisher: Publisher,
    log: EventLog,
) -> ClusterSummary:
    started = time.perf_counter()
    log.emit(events.START, input=request.input, output=plan.csv, clusters=list(request.clusters))
    featurizer = HashingFeaturizer(ngrams=NGRAMS, buckets=BUCKETS)
    with (
        storage.local_copy(request.input, version=request.input_version) as path,
        tempfile.TemporaryDirectory(prefix="textbatch-cluster-") as tmp,
    ):
        with open_table(path, name=request.input) as table:
            text_at = table.column(
                request.text_column, candidates=TEXT_COLUMNS, role="text", besides=()
            )
            header = table.header
        summary = ClusterSummary(
            input=request.input,
            input_version=request.input_version,
            output=plan.csv,
            clusters_file=plan.clusters,
            text_column=header[text_at],
        )
        clash = sorted({"cluster", "distance"} & set(header))
        if clash:
            raise InputError(
                f"{request.input} already has column(s) {clash}, which the output adds",
                hint="rename those columns in the input",
            )
        # 1. features and a sample
        frequency = np.zeros(BUCKETS, dtype=np.int64)
        rng = np.random.default_rng(request.seed)
        sample: list[str] = []
        usable = 0
        for texts in _batches(
            path, request.input, text_at, len(header), dataclasses.replace(summary, rejected=[])
        ):
            counts = featurizer.counts(texts)
            frequency += np.bincount(counts.column, minlength=BUCKETS)
            for text in texts:  # reservoir sampling: every usable row equally likely
                usable += 1
                if len(sample) < SAMPLE_ROWS:
                    sample.append(text[:SAMPLE_CHARS])
                elif (j := int(rng.integers(usable))) < SAMPLE_ROWS:
                    sample[j] = text[:SAMPLE_CHARS]
        low, high = request.clusters
        if usable < max(2, low):
            raise InputError(
                f"{request.input} has {usable} row(s) with a text: too few for "
                f"{low} clusters" + (" (a range starts at its lowest count)" if low < high else ""),
                hint="cluster a file with more rows, or ask for fewer clusters (--clusters)",
            )
        columns = _features(frequency, usable)
        if not len(columns):
            raise InputError(
                f"{request.input}: no word of its texts occurs in two or more rows, so rows "
                "cannot be grouped by the words they share",
                hint=f"check the text column ({header[text_at]!r}) and the file's rows",
            )
        weights = idf(frequency[columns], usable)
        summary.features = len(columns)
        log.emit("features", columns=len(columns), rows=usable, sample=len(sample))

        def vectors(texts: list[str]) -> knn.Vectors:
            return knn.vectors(featurizer.counts(texts), columns, weights)

        # 2. how many clusters, and where they start
        sampled = vectors(sample)
        high = min(high, len(sample))
        k, scores = _choose_k(sampled, len(columns), low, high, request.seed)
        summary.n_clusters = k
        summary.choice = (
            {"rule": "fixed"}
            if low == high
            else {
                "rule": f"highest mean cosine silhouette on a sample of {len(sample)} rows",
                "silhouettes": {str(c): round(s, 4) for c, s in scores.items()},
            }
        )
        log.emit("clusters", n_clusters=k, **summary.choice)
        model = kmeans.MiniBatchKMeans.started(sampled, len(columns), k, request.seed, INITS)

        # 3. mini-batch passes
        for epoch in range(1, request.epochs + 1):
            for texts in _batches(
                path, request.input, text_at, len(header), dataclasses.replace(summary, rejected=[])
            ):
                model.partial_fit(vectors(texts))
            log.emit("epoch", epoch=epoch, rows=usable)

        # 4. assign, write, describe
        clusters = [_ClusterStats() for _ in range(k)]
        out_path = Path(tmp) / "output.csv"
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            writer = csv_table.writer(out)
            writer.writerow([*header, "cluster", "distance"])
            for chunk in _chunks(path, request.input):
                ready = [r for r in chunk if usable_row(r, text_at, len(header), summary)]
                texts = [r.fields[text_at][:MODEL_CHARS] for r in ready]
                best, distance = model.assign(vectors(texts))
                found = {
                    r.row: (int(c), float(d)) for r, c, d in zip(ready, best, distance, strict=True)
                }
                for record in chunk:
                    fields = (record.fields + [""] * len(header))[: len(header)]
                    if record.row not in found:
                        writer.writerow([*fields, "", ""])
                        continue
                    c, d = found[record.row]
                    writer.writerow([*fields, str(c), f"{d:.6f}"])
                    clusters[c].add(record, d, record.fields[text_at])
                summary.rows_in += len(chunk)
                summary.rows_clustered += len(ready)
        summary.rows_out = summary.rows_in
        publisher.begin()  # from here on, only while this revision is the newest
        publisher.put_file(out_path, plan.csv, content_type="text/csv")
        everywhere = sum((c.words for c in clusters), Counter())
        counted = sum(c.counted for c in clusters)
        described = [c.describe(i, everywhere, counted) for i, c in enumerate(clusters)]
        publisher.put_json(plan.clusters, {"input": request.input, "n_clusters": k,
                                           "clusters": described})  # fmt: skip
    finished = time.perf_counter()
    summary.seconds = {"total": round(finished - started, 3)}
    summary.rows_per_s = round(summary.rows_in / max(1e-9, finished - started), 1)
    publisher.put_json(plan.summary, asdict(summary))
    publisher.delete(plan.error)  # an earlier revision's error report would contradict this
    log.emit(
        events.DONE,
        rows_in=summary.rows_in,
        rows_clustered=summary.rows_clustered,
        rows_rejected=summary.rows_rejected,
        n_clusters=k,
        rows_per_s=summary.rows_per_s,
        output=plan.csv,
        seconds=summary.seconds["total"],
    )
    return summary


def _features(frequency: np.ndarray, rows: int) -> np.ndarray:
    """The hashed columns that can group rows: in 2+ rows and at most half of them (all of
    them for tiny files), the MAX_FEATURES most frequent; sorted."""
    ceiling = rows // 2 if rows >= 8 else rows
    candidates = np.flatnonzero((frequency >= 2) & (frequency <= ceiling))
    if len(candidates) > MAX_FEATURES:
        top = np.argpartition(-frequency[candidates], MAX_FEATURES - 1)[:MAX_FEATURES]
        candidates = np.sort(candidates[top])
    return candidates


def _choose_k(
    sample: knn.Vectors, width: int, low: int, high: int, seed: int
) -> tuple[int, dict[int, float]]:
    if low == high:
        return low, {}
    similarity = kmeans.pairwise(sample, width)
    scores = {
        k: kmeans.silhouette(similarity, kmeans.best_of(sample, width, k, seed, INITS)[0])
        for k in range(low, high + 1)
    }
    return max(scores, key=lambda k: (scores[k], -k)), scores


def _chunks(path: Path, name: str) -> Iterator[list[CsvRecord]]:
    """The file's records, a batch at a time (rows and characters bounded, as predict's)."""
    with open_table(path, name=name) as table:
        yield from record_chunks(table.records(), BATCH_ROWS, CHUNK_CHARS)


def _batches(
    path: Path, name: str, text_at: int, width: int, scratch: ClusterSummary
) -> Iterator[list[str]]:
    """The usable texts of the file, a batch at a time (rejections go to `scratch`: the last
    pass counts them into the summary, once)."""
    for chunk in _chunks(path, name):
        texts = [
            r.fields[text_at][:MODEL_CHARS] for r in chunk if usable_row(r, text_at, width, scratch)
        ]
        if texts:
            yield texts


class _ClusterStats:
    def __init__(self) -> None:
        self.size = 0
        self.closest: list[tuple[float, int, int, str]] = []  # (-distance, -row, line, text)
        self.words: Counter[str] = Counter()
        self.counted = 0

    def add(self, record: CsvRecord, distance: float, text: str) -> None:
        self.size += 1
        entry = (-distance, -record.row, record.line, text[:EXAMPLE_CHARS])
        if len(self.closest) < EXAMPLES:
            heapq.heappush(self.closest, entry)
        elif entry > self.closest[0]:
            heapq.heapreplace(self.closest, entry)
        if self.counted < TERM_ROWS:
            self.counted += 1
            self.words.update(set(WORD.findall(text[:SAMPLE_CHARS].lower())))

    def describe(self, index: int, everywhere: Counter[str], counted: int) -> dict[str, Any]:
        """Its words by how much more often its rows hold them than all rows do, weighted by
        how many of its rows hold them: words in 2+ of its rows and at least LIFT times as
        common in them as in all rows (which keeps out the words every cluster has)."""
        scored = []
        for word, n in self.words.items():
            inside = n / self.counted
            lift = inside / (everywhere[word] / counted)
            if n >= 2 and lift >= LIFT:
                scored.append((inside * math.log(lift), word))
        terms = [word for _, word in heapq.nlargest(TERMS, scored)]
        examples = [
            {"row": -row, "line": line, "distance": round(-d, 6), "text": text}
            for d, row, line, text in sorted(self.closest, reverse=True)
        ]
        return {"cluster": index, "size": self.size, "terms": terms, "examples": examples}
