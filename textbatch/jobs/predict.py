"""The predict job: a CSV of texts in, the same rows with predictions out, plus a summary.

Streams the input in chunks (memory stays bounded), writes the output to a temporary file and
publishes it in one step, so no partial result is ever visible. Any failure that is the
input's or the model's fault leaves an `<stem>_error.json` report where the output would be.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from textbatch_contract import OutputPlan, events, jobs
from textbatch_contract import review as review_names
from textbatch_contract.jobs import NEUTRALISE_FORMULAS_ENV, WHY_ENV

from textbatch.errors import InputError
from textbatch.families import classifier_for
from textbatch.io import csv_table
from textbatch.io.csv_table import TEXT_COLUMNS, CsvRecord, open_table
from textbatch.io.storage import Publisher, Storage
from textbatch.jobs import routing
from textbatch.jobs.events import EventLog, run_for_file
from textbatch.model import shift
from textbatch.model.artifacts import loading, open_model
from textbatch.model.review import Thresholds
from textbatch.model.workers import default_workers, prepared

# A chunk is at most CHUNK_ROWS rows and, past its first row, CHUNK_CHARS characters of fields:
# memory follows the bytes in flight, not only the rows (one row of 16 fields of 20 MB is a
# chunk of its own). The model reads the first MODEL_CHARS characters of a text (a 500-page
# book; the networks read far fewer tokens anyway): a 50 MB field costs the workers no more.
CHUNK_ROWS = 512
CHUNK_CHARS = 4_000_000
# What a field costs beyond its characters, counted as characters: a str object's own size in
# CPython (49 bytes) and its slot in the row's list (8). Without it, 20,000 one-character
# columns made a chunk 8.7x its bytes in the file.
FIELD_WEIGHT = 56
MODEL_CHARS = 1_000_000
MAX_REJECTED_LISTED = 1000
PROGRESS_SECONDS = 5.0
WHY_TERMS = 3  # n-grams in a row's `why`


@dataclass(frozen=True)
class PredictRequest:
    model: str
    input: str
    output: str
    text_column: str | None = None
    input_version: str | None = None  # the S3 version id to read; None: the latest
    part: bool = False  # a large file's part: may hold no rows (a long record filled the last)
    # cells that start like a formula written as text; None: as the job definition says
    # (TEXTBATCH_NEUTRALISE_FORMULAS, from the stage setting neutralise_formulas)
    neutralise_formulas: bool | None = None
    # the column with the submitter's category (textbatch_contract.review: else the upload's
    # metadata, else the stage's setting)
    compare_column: str | None = None
    # the `why` column of the linear families; None: as the job definition says (TEXTBATCH_WHY,
    # from the stage setting why_column; on unless "0")
    why: bool | None = None
    row_offset: int = 0  # a large file's part: its first row's place in the file (review file)


@dataclass
class PredictSummary:
    input: str
    input_version: str | None  # the revision read (None: a local file or the latest)
    output: str
    model_version: str
    text_column: str
    rows_in: int = 0
    rows_out: int = 0
    rows_predicted: int = 0
    rows_rejected: int = 0
    texts_truncated: int = 0  # texts longer than MODEL_CHARS: the model read their start
    rejected: list[dict[str, Any]] = field(default_factory=list)
    predictions: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rows_per_s: float = 0.0
    review: dict[str, Any] = field(default_factory=dict)
    shift: dict[str, Any] = field(default_factory=dict)

    def reject(self, record: CsvRecord, reason: str) -> None:
        reject(self, record, reason)

    def model_text(self, text: str) -> str:
        if len(text) <= MODEL_CHARS:
            return text
        self.texts_truncated += 1
        return text[:MODEL_CHARS]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_predict(
    request: PredictRequest, *, storage: Storage | None = None, log: EventLog | None = None
) -> PredictSummary | None:
    """The file's result, or None when a newer revision of the upload superseded this one
    before its result was written (logged as `superseded`; nothing is written)."""
    storage = storage or Storage()
    log = log or EventLog(job=jobs.PREDICT.name)
    plan = OutputPlan.for_request(request.input, request.output)
    publisher = storage.publisher(request.input, request.input_version, plan.outcome())
    published: list[bool] = []  # set once the summary is written: the file has its result
    return run_for_file(
        lambda: _predict(request, plan, storage, publisher, log, published),
        log=log,
        publisher=publisher,
        error_uri=plan.error,
        report={
            "input": request.input,
            "input_version": request.input_version,
            "model": request.model,
        },
        # stopped (SIGTERM) after the result was written: the result stands
        has_result=lambda: bool(published),
    )


def _predict(
    request: PredictRequest,
    plan: OutputPlan,
    storage: Storage,
    publisher: Publisher,
    log: EventLog,
    published: list[bool],
) -> PredictSummary:
    started = time.perf_counter()
    log.emit(events.START, input=request.input, model=request.model, output=plan.csv)
    model = open_model(request.model, storage)
    with loading(model.manifest.version, model.manifest.weights):  # the weights fit the network
        classifier = classifier_for(model)
    loaded = time.perf_counter()
    log.emit("model", version=model.manifest.version, device=classifier.device)

    with (
        storage.local_copy(request.input, version=request.input_version) as path,
        open_table(path, name=request.input) as table,
        tempfile.TemporaryDirectory(prefix="textbatch-predict-") as tmp,
    ):
        text_at = table.column(
            request.text_column or model.config.text_column,
            candidates=TEXT_COLUMNS,
            role="text",
            besides=(),
        )
        why = WHY_TERMS if classifier.explains and _why_wanted(request) else 0
        classifier.why_terms = why
        if request.part:  # the split job found the file's compare column (the plan's)
            compare_name, required, where = request.compare_column, True, "the split job"
        else:
            compare_name, required, where = routing.compare_column_for(
                request.input, request.input_version, request.compare_column, storage
            )
        compare = routing.Compare.find(
            table.header,
            compare_name,
            required=required,
            text_at=text_at,
            source=request.input,
            labels=classifier.labels,
            where=where,
        )
        thresholds = Thresholds.from_document(model.manifest.review, classifier.labels)
        added = [
            "prediction",
            "confidence",
            *(f"prob_{label}" for label in classifier.labels),
            *classifier.extra_columns,
            review_names.REVIEW,
            review_names.REASON,
            *([review_names.WHY] if why else []),
        ]
        clash = sorted(set(added) & set(table.header))
        if clash:
            raise InputError(
                f"{request.input} already has column(s) {clash}, which the output adds",
                hint="rename those columns in the input",
            )
        summary = PredictSummary(
            input=request.input,
            input_version=request.input_version,
            output=plan.csv,
            model_version=model.manifest.version,
            text_column=table.header[text_at],
        )
        width = len(table.header)
        counts: Counter[str] = Counter()
        shift_counts = shift.new_counts()
        out_path = Path(tmp) / "output.csv"
        progress = _Progress(log, table.size)
        neutralise = request.neutralise_formulas
        if neutralise is None:
            neutralise = os.environ.get(NEUTRALISE_FORMULAS_ENV) == "1"
        to_review = routing.ReviewRows(
            Path(tmp) / "review-rows.csv",
            neutralise_formulas=neutralise,
            row_offset=request.row_offset,
        )
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            writer = csv_table.writer(out, neutralise_formulas=neutralise)
            writer.writerow(table.header + added)
            chunks = (
                ((chunk, usable), [summary.model_text(r.fields[text_at]) for r in usable])
                for chunk in record_chunks(table.records(), CHUNK_ROWS, CHUNK_CHARS)
                for usable in [[r for r in chunk if usable_row(r, text_at, width, summary)]]
            )
            for (chunk, usable), ready in prepared(
                chunks,
                classifier.prepare,
                workers=default_workers(),
                weight=lambda texts: sum(map(len, texts)),
            ):
                probs = classifier.predict(ready)
                extras = classifier.extras(ready) or [[]] * len(usable)
                notes = classifier.notes(ready)
                best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
                confidence = probs[np.arange(len(best)), best]
                reasons = routing.route_rows(
                    thresholds,
                    classifier.labels,
                    best,
                    confidence,
                    [compare.value(r.fields) for r in usable],
                )
                if not why:
                    whys: list[list[str]] = [[]] * len(usable)
                else:
                    whys = [[w] for w in notes.why] if notes.why else [[""]] * len(usable)
                shift.add(shift_counts, confidence, notes.unseen)
                by_row = {
                    r.row: found
                    for r, *found in zip(
                        usable, probs, best.tolist(), extras, reasons, whys, strict=True
                    )
                }
                for record in chunk:
                    fields = (record.fields + [""] * width)[:width]
                    found = by_row.get(record.row)
                    if found is None:
                        writer.writerow(fields + [""] * len(added))
                        continue
                    p, at, extra, reason, row_why = found
                    label, written = classifier.labels[at], f"{p[at]:.6f}"
                    counts[label] += 1
                    writer.writerow(
                        [*fields, label, written]
                        + [f"{v:.6f}" for v in p]
                        + extra
                        + [review_names.YES if reason else review_names.NO, reason, *row_why]
                    )
                    to_review.add(record.row, reason, label, written, row_why, fields)
                summary.rows_in += len(chunk)
                summary.rows_predicted += len(usable)
                progress.update(summary.rows_in, table.bytes_read())
        summary.rows_out = summary.rows_in
        if summary.rows_in == 0 and not request.part:
            raise InputError(
                f"{request.input} has a header ({', '.join(table.header)}) but no data rows: "
                "nothing to classify",
                hint="upload the file with its rows",
            )
        review_path = Path(tmp) / "review.csv"
        to_review.write_sorted(review_path, routing.review_header(table.header, why=bool(why)))
        publisher.begin()  # from here on, only while this revision is the newest
        publisher.put_file(out_path, plan.csv, content_type="text/csv")
        publisher.put_file(review_path, plan.review, content_type="text/csv")

    finished = time.perf_counter()
    summary.predictions = dict(sorted(counts.items()))
    summary.review = to_review.block(thresholds, compare, plan.review)
    summary.shift = shift.assess(shift_counts, summary.predictions, model.manifest.shift)
    summary.seconds = {
        "load_model": round(loaded - started, 3),
        "predict": round(finished - loaded, 3),
        "total": round(finished - started, 3),
    }
    summary.rows_per_s = round(summary.rows_in / max(1e-9, finished - loaded), 1)
    publisher.put_json(plan.summary, summary.to_dict())
    published.append(True)
    # an earlier revision's error report would contradict this result: it goes
    publisher.delete(plan.error)
    if not request.part:  # a large file's merge job says it for the whole file
        routing.emit_file_checks(log, summary.to_dict(), plan)
    log.emit(
        events.DONE,
        rows_in=summary.rows_in,
        rows_predicted=summary.rows_predicted,
        rows_rejected=summary.rows_rejected,
        rows_to_review=summary.review["rows_to_review"],
        rows_per_s=summary.rows_per_s,
        output=plan.csv,
        seconds=summary.seconds["total"],
    )
    return summary


def _why_wanted(request: PredictRequest) -> bool:
    if request.why is not None:
        return request.why
    return os.environ.get(WHY_ENV, "1") != "0"


class Rejects(Protocol):
    """A job's summary that lists the rows it kept in the output unpredicted."""

    input: str
    rows_rejected: int
    rejected: list[dict[str, Any]]


def reject(summary: Rejects, record: CsvRecord, reason: str) -> None:
    summary.rows_rejected += 1
    if len(summary.rejected) < MAX_REJECTED_LISTED:
        summary.rejected.append({"row": record.row, "line": record.line, "reason": reason})


def usable_row(record: CsvRecord, text_at: int, width: int, summary: Rejects) -> bool:
    """Whether a row is predicted (or clustered); a short or empty one is kept unpredicted and
    listed, and a row with more fields than the header refuses the file: its extra fields have
    no column in the output, and dropping them would lose data."""
    if len(record.fields) > width:
        raise InputError(
            f"{summary.input}: row {record.row} (line {record.line}) has {len(record.fields)} "
            f"fields, the header has {width}; nothing was written",
            hint="quote the field that holds a comma, or name the extra column in the header; "
            "then upload the file again",
        )
    if len(record.fields) != width:
        reject(summary, record, f"{len(record.fields)} fields, the header has {width}")
        return False
    if not record.fields[text_at].strip():
        reject(summary, record, "empty text")
        return False
    return True


def record_chunks(records: Iterable[CsvRecord], rows: int, chars: int) -> Iterator[list[CsvRecord]]:
    """Consecutive records, at most `rows` of them and, past the first, `chars` characters
    (each field weighs its characters and FIELD_WEIGHT more)."""
    chunk: list[CsvRecord] = []
    size = 0
    for record in records:
        length = sum(map(len, record.fields)) + FIELD_WEIGHT * len(record.fields)
        if chunk and (len(chunk) >= rows or size + length > chars):
            yield chunk
            chunk, size = [], 0
        chunk.append(record)
        size += length
    if chunk:
        yield chunk


class _Progress:
    """A `progress` event (rows done, share of bytes read, rate, ETA) at each tenth of the input
    read, and every PROGRESS_SECONDS in between: short jobs show progress too."""

    def __init__(self, log: EventLog, total_bytes: int) -> None:
        self.log = log
        self.total_bytes = total_bytes
        self.started = self.last = time.perf_counter()
        self.tenth = 0

    def update(self, rows: int, bytes_read: int) -> None:
        now = time.perf_counter()
        fraction = min(1.0, bytes_read / self.total_bytes) if self.total_bytes else None
        tenth = int(10 * fraction) if fraction is not None else 0
        if tenth <= self.tenth and now - self.last < PROGRESS_SECONDS:
            return
        self.tenth, self.last = max(tenth, self.tenth), now
        elapsed = now - self.started
        self.log.emit(
            events.PROGRESS,
            rows_done=rows,
            percent=None if fraction is None else round(100 * fraction, 1),
            rows_per_s=rows / elapsed,
            eta_s=round(elapsed * (1 - fraction) / fraction, 1) if fraction else None,
        )
