"""The merge job, and the file's parts-failed report (textbatch.scale.part writes it too).

The children (textbatch.scale.part) predict their parts into the parts prefix. The merge job,
which Batch starts only when every child succeeded, assembles `<stem>_output.csv` in input
order (part 0's output whole, the others without their header: S3 UploadPartCopy when every
piece is at least 5 MiB, so no byte is downloaded; otherwise one pass through a local file),
writes one summary for the file and removes the parts.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from textbatch_contract import OutputPlan, events
from textbatch_contract import review as names
from textbatch_contract.parts import PartsPlan, parts_failed_report
from textbatch_contract.revisions import Superseded

from textbatch.errors import InputError
from textbatch.io.csv_table import raw_records
from textbatch.io.storage import Publisher, S3Uri, Storage, is_s3
from textbatch.jobs import routing
from textbatch.jobs.events import EventLog
from textbatch.model import shift

MIN_COPY_PART = 5 * 1024 * 1024  # S3's smallest multipart part (all but the last)
MAX_REJECTED_LISTED = 1000
COPY_THREADS = 8  # UploadPartCopy calls at a time: each waits on S3's copy, not on this job


def write_failure_report(plan: PartsPlan, output: str, storage: Storage, log: EventLog) -> None:
    """The file's error report, listing every part whose error report exists so far (each
    failing child rewrites it after writing its own)."""
    failed = [
        (part, report)
        for part in plan.parts
        if (report := storage.read_json_or_none(plan.output_of(part).error)) is not None
    ]
    report = parts_failed_report(plan, failed)
    final = OutputPlan.for_request(plan.input, output)
    publisher = storage.publisher(plan.input, plan.input_version, final.outcome())
    try:  # over an earlier revision's, if any, but never over a newer revision's outcome
        publisher.begin()
        publisher.put_json(final.error, report)
    except Superseded as newer:
        log.superseded(newer)
        return
    log.emit(events.FAILED_PARTS, parts=[part.index for part, _ in failed], report=final.error)


def run_merge(
    prefix: str, output: str, *, storage: Storage, log: EventLog
) -> dict[str, Any] | None:
    """The file's merged summary; None when a newer revision of the upload superseded this one
    (logged as `superseded`: nothing is written, the parts are removed)."""
    plan = PartsPlan.load(storage, prefix)
    final = OutputPlan.for_request(plan.input, output)
    publisher = storage.publisher(plan.input, plan.input_version, final.outcome())
    try:
        return _merge(plan, final, output, storage=storage, publisher=publisher, log=log)
    except Superseded as newer:
        log.superseded(newer)
        storage.delete_prefix(plan.prefix)  # this chain's own parts: nobody else reads them
        return None


def _merge(
    plan: PartsPlan,
    final: OutputPlan,
    output: str,
    *,
    storage: Storage,
    publisher: Publisher,
    log: EventLog,
) -> dict[str, Any]:
    started = time.perf_counter()
    outputs = [plan.output_of(part) for part in plan.parts]
    summaries = [storage.read_json_or_none(out.summary) for out in outputs]
    missing = [p.index for p, summary in zip(plan.parts, summaries, strict=True) if summary is None]
    if missing:
        write_failure_report(plan, output, storage, log)
        raise InputError(
            f"parts {missing} of {plan.input} have no output", hint="see the error report"
        )
    header = _header_bytes(storage, outputs[0].csv)
    sizes = [storage.size(out.csv) for out in outputs]
    pieces = [(outputs[0].csv, 0, sizes[0])] + [
        (out.csv, header, size)
        for out, size in zip(outputs[1:], sizes[1:], strict=True)
        if size > header
    ]
    publisher.begin()  # from here on, only while this revision is the newest
    if is_s3(final.csv) and all(end - start >= MIN_COPY_PART for _, start, end in pieces[:-1]):
        method = "upload-part-copy"
        publisher.write(
            final.csv, lambda condition: _copy_parts(storage, pieces, final.csv, condition)
        )
    else:
        method = "download"
        _concatenate(storage, publisher, pieces, final.csv)
    total = sum(end - start for _, start, end in pieces)
    with tempfile.TemporaryDirectory(prefix="textbatch-merge-") as tmp:
        review_path = Path(tmp) / "review.csv"
        routing.merge_files(storage, [out.review for out in outputs], review_path)
        publisher.put_file(review_path, final.review, content_type="text/csv")
    summary = _merged_summary(plan, final, summaries)
    seconds = time.perf_counter() - started
    summary["seconds"] = {"merge": round(seconds, 3)}
    publisher.put_json(final.summary, summary)
    publisher.delete(final.error)  # an earlier revision's report would contradict this result
    routing.emit_file_checks(log, summary, final)
    removed = storage.delete_prefix(plan.prefix)
    log.emit(
        events.MERGE_DONE,
        output=final.csv,
        parts=len(plan.parts),
        rows_in=summary["rows_in"],
        bytes=total,
        method=method,
        seconds=round(seconds, 3),
        mb_per_s=round(total / 1e6 / max(seconds, 1e-9), 1),
        parts_removed=removed,
    )
    return summary


def _header_bytes(storage: Storage, uri: str) -> int:
    with storage.open_read(uri) as stream:
        raw, _, _ = next(raw_records(stream, uri))
    return len(raw)


def _copy_parts(
    storage: Storage, pieces: list[tuple[str, int, int]], target: str, condition: dict[str, str]
) -> None:
    """One multipart upload whose parts S3 copies from the pieces, COPY_THREADS at a time,
    completed under `condition` (the publisher's If-Match / If-None-Match)."""
    s3, dest = storage.s3, S3Uri.parse(target)
    upload = s3.create_multipart_upload(Bucket=dest.bucket, Key=dest.key, ContentType="text/csv")

    def copy(number: int, uri: str, start: int, end: int) -> dict[str, Any]:
        source = S3Uri.parse(uri)
        copied = s3.upload_part_copy(
            Bucket=dest.bucket,
            Key=dest.key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            CopySource={"Bucket": source.bucket, "Key": source.key},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        return {"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]}

    try:
        with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
            uris, starts, ends = zip(*pieces, strict=True)
            done = list(pool.map(copy, range(1, len(pieces) + 1), uris, starts, ends))
        s3.complete_multipart_upload(
            Bucket=dest.bucket,
            Key=dest.key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": done},
            **condition,
        )
    except Exception:
        s3.abort_multipart_upload(Bucket=dest.bucket, Key=dest.key, UploadId=upload["UploadId"])
        raise


def _concatenate(
    storage: Storage, publisher: Publisher, pieces: list[tuple[str, int, int]], target: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="textbatch-merge-") as tmp:
        path = Path(tmp) / "output.csv"
        with open(path, "wb") as out:
            for uri, start, _ in pieces:
                with storage.open_read(uri) as stream:
                    stream.read(start)
                    while block := stream.read(1 << 20):
                        out.write(block)
        publisher.put_file(path, target, content_type="text/csv")


def _merged_summary(
    plan: PartsPlan, final: OutputPlan, summaries: list[dict[str, Any]]
) -> dict[str, Any]:
    predictions: Counter[str] = Counter()
    rejected = []
    for part, summary in zip(plan.parts, summaries, strict=True):
        predictions.update(summary["predictions"])
        rejected += [
            {**r, "row": r["row"] + part.row_offset, "line": r["line"] + part.line_offset}
            for r in summary["rejected"]
        ]
    first = summaries[0]
    return {
        "input": plan.input,
        "input_version": plan.input_version,
        "output": final.csv,
        "model_version": first["model_version"],
        "text_column": first["text_column"],
        "rows_in": sum(s["rows_in"] for s in summaries),
        "rows_out": sum(s["rows_out"] for s in summaries),
        "rows_predicted": sum(s["rows_predicted"] for s in summaries),
        "rows_rejected": sum(s["rows_rejected"] for s in summaries),
        "rejected": rejected[:MAX_REJECTED_LISTED],
        "predictions": dict(sorted(predictions.items())),
        names.SUMMARY_REVIEW: routing.merged_block(
            [s[names.SUMMARY_REVIEW] for s in summaries], final.review
        ),
        names.SUMMARY_SHIFT: shift.assess(
            shift.merge_counts([s[names.SUMMARY_SHIFT] for s in summaries]),
            dict(sorted(predictions.items())),
            first[names.SUMMARY_SHIFT]["training"],
        ),
        "parts": len(plan.parts),
    }
