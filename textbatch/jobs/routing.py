"""A file's review routing in the predict job and the merge job: each row's `review` cells, the
`<stem>_review.csv` file (the rows for a person, the most useful first) and the summary's
`review` block. One job and a large file's parts plus merge write the same bytes: each part
sorts its own review rows by the same key, with its rows numbered as in the whole file, and the
merge interleaves the parts' sorted files.

The review file's columns: `row` (the row's number among the input's data rows, 1 = first),
`review_reason`, `prediction`, `confidence`, `why` (when the output has it), then every input
column as it was.
"""

from __future__ import annotations

import heapq
import io
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from textbatch_contract import OutputPlan
from textbatch_contract import review as names
from textbatch_contract.jobs import LATEST

from textbatch.errors import InputError
from textbatch.io import csv_table
from textbatch.io.csv_table import raw_records, reader
from textbatch.io.storage import Storage, is_s3
from textbatch.jobs.events import EventLog
from textbatch.model import review
from textbatch.model.review import Thresholds

MAX_UNKNOWN_LISTED = 20


def review_header(input_header: list[str], *, why: bool) -> list[str]:
    return [
        names.ROW,
        names.REASON,
        "prediction",
        "confidence",
        *([names.WHY] if why else []),
        *input_header,
    ]


class ReviewRows:
    """The review rows of one job, kept in a scratch file as they come, with their sort keys in
    arrays (about 30 bytes a row), then written in order. A row goes to the file as the
    output's writer makes it (a huge row a field at a time: no copy of the whole row), and is
    copied to the review file in blocks of COPY_BYTES."""

    COPY_BYTES = 1 << 20

    def __init__(self, scratch: Path, *, neutralise_formulas: bool, row_offset: int = 0) -> None:
        self.path = scratch
        self.stream = open(scratch, "wb")  # noqa: SIM115 (closed by write_sorted)
        # each write handed straight to the binary stream, so its tell() is where a row ends
        self.text = io.TextIOWrapper(
            self.stream, encoding="utf-8", errors="surrogateescape", newline="", write_through=True
        )
        self.writer = csv_table.writer(self.text, neutralise_formulas=neutralise_formulas)
        self.neutralise_formulas = neutralise_formulas
        self.row_offset = row_offset
        self.rank: list[int] = []
        self.confidence: list[float] = []
        self.rows: list[int] = []
        self.offsets: list[int] = [0]
        self.by_reason: Counter[str] = Counter()
        self.accepted = 0

    def add(
        self,
        row: int,
        reason: str,
        prediction: str,
        confidence: str,
        why: list[str],
        fields: list[str],
    ) -> None:
        if not reason:
            self.accepted += 1
            return
        number = row + self.row_offset
        self.writer.writerow([str(number), reason, prediction, confidence, *why, *fields])
        self.offsets.append(self.stream.tell())
        key = review.sort_key(reason, confidence, number)
        self.rank.append(key[0])
        self.confidence.append(key[1])
        self.rows.append(number)
        self.by_reason[reason] += 1

    def write_sorted(self, target: Path, header: list[str]) -> None:
        """The review file: the header, then the rows by their sort key."""
        self.text.close()  # and the binary stream under it
        order = np.lexsort((np.array(self.rows), np.array(self.confidence), np.array(self.rank)))
        with open(target, "w", encoding="utf-8", newline="") as out:
            csv_table.writer(out, neutralise_formulas=self.neutralise_formulas).writerow(header)
        with open(self.path, "rb") as rows, open(target, "ab") as out:
            for i in order.tolist():
                rows.seek(self.offsets[i])
                left = self.offsets[i + 1] - self.offsets[i]
                while left > 0:
                    block = rows.read(min(left, self.COPY_BYTES))
                    if not block:
                        raise OSError(f"{self.path}: the review rows' scratch file was cut short")
                    out.write(block)
                    left -= len(block)

    def block(self, thresholds: Thresholds, compare: Compare, file: str) -> dict[str, Any]:
        return review_block(
            accepted=self.accepted,
            by_reason=dict(self.by_reason),
            thresholds=thresholds,
            compare=compare.describe(),
            file=file,
        )


def review_block(
    *,
    accepted: int,
    by_reason: dict[str, int],
    thresholds: Thresholds | None = None,
    compare: dict[str, Any],
    file: str,
    target: float | None = None,
    validated: float | None = None,
) -> dict[str, Any]:
    if thresholds is not None:
        target, validated = thresholds.target, thresholds.validated
    return {
        "rows_auto_accepted": accepted,
        "rows_to_review": sum(by_reason.values()),
        "by_reason": {reason: by_reason.get(reason, 0) for reason in names.REASONS},
        "target_precision": target,
        "validated_precision": validated,
        **compare,
        "file": file,
    }


def merged_block(blocks: list[dict[str, Any]], file: str) -> dict[str, Any]:
    """The review block of a large file from its parts'."""
    first = blocks[0]
    unknown = sorted({v for b in blocks for v in b["compare_unknown_labels"]})
    return review_block(
        accepted=sum(b["rows_auto_accepted"] for b in blocks),
        by_reason={r: sum(b["by_reason"][r] for b in blocks) for r in names.REASONS},
        compare={
            "compare_column": first["compare_column"],
            "rows_compared": sum(b["rows_compared"] for b in blocks),
            "compare_unknown_labels": unknown[:MAX_UNKNOWN_LISTED],
        },
        file=file,
        target=first["target_precision"],
        validated=first["validated_precision"],
    )


def compare_column_for(
    input_uri: str, version: str | None, explicit: str | None, storage: Storage
) -> tuple[str | None, bool, str]:
    """The compare column's name for a file, whether the file must have it (the command or
    the upload asked for it; the stage's setting applies only to files that have it), and who
    named it."""
    if explicit:
        return explicit, True, "--compare-column"
    if is_s3(input_uri):
        head = storage.head(input_uri, version=None if version in (None, LATEST) else version)
        named = head.get("Metadata", {}).get(names.COMPARE_METADATA)
        if named:
            return named, True, f"the upload's metadata {names.COMPARE_METADATA}"
    named = os.environ.get(names.COMPARE_COLUMN_ENV)
    return (named or None), False, "the stage setting compare_column"


def missing_column(source: str, name: str, where: str, header: list[str]) -> InputError:
    return InputError(
        f"{source}: no column {name!r} to compare the predictions with ({where}); "
        f"the header is {', '.join(header)}",
        hint="name a column of the file, or leave the compare column out",
    )


class Compare:
    """The submitter's category column of a file, if it has one."""

    def __init__(self, name: str | None, at: int | None, labels: list[str]) -> None:
        self.name, self.at = name, at
        self.labels = set(labels)
        self.compared = 0
        self.unknown: set[str] = set()

    @classmethod
    def find(
        cls,
        header: list[str],
        name: str | None,
        *,
        required: bool,
        text_at: int,
        source: str,
        labels: list[str],
        where: str,
    ) -> Compare:
        """`name`'s column; a column the file lacks is an error when the file or the command
        asked for it (`required`), and no comparison when it came from the stage's setting."""
        if not name:
            return cls(None, None, labels)
        if name not in header:
            if not required:
                return cls(None, None, labels)
            raise missing_column(source, name, where, header)
        at = header.index(name)
        if at == text_at:
            raise InputError(
                f"{source}: the compare column {name!r} is the text column",
                hint="name the column that holds the submitter's category",
            )
        return cls(name, at, labels)

    def value(self, fields: list[str]) -> str | None:
        if self.at is None:
            return None
        value = fields[self.at].strip()
        if value:
            self.compared += 1
            if value not in self.labels and value not in self.unknown:
                # the first MAX_UNKNOWN_LISTED in sort order, whatever the order rows come in:
                # a large file's parts together list the same ones as one job
                self.unknown.add(value)
                if len(self.unknown) > MAX_UNKNOWN_LISTED:
                    self.unknown.remove(max(self.unknown))
        return value or None

    def describe(self) -> dict[str, Any]:
        return {
            "compare_column": self.name,
            "rows_compared": self.compared,
            # the submitted categories that the model does not know: their rows disagree
            "compare_unknown_labels": sorted(self.unknown),
        }


def route_rows(
    thresholds: Thresholds,
    labels: list[str],
    best: np.ndarray,
    confidence: np.ndarray,
    submitted: list[str | None],
) -> list[str]:
    """Each predicted row's review reason ("" when it is auto-accepted), from its predicted
    class and that class's probability."""
    confident = thresholds.accepts(best, confidence).tolist()
    return [
        review.route(ok, labels[b], s)
        for ok, b, s in zip(confident, best.tolist(), submitted, strict=True)
    ]


def _records(storage: Storage, uri: str) -> Iterator[tuple[tuple[int, float, int], bytes]]:
    """A part's review rows after its header, each with its sort key."""
    with storage.open_read(uri) as stream:
        records = raw_records(stream, uri)
        next(records, None)
        for raw, _, blank in records:
            if blank:
                continue
            fields = next(reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline="")))
            yield review.sort_key(fields[1], fields[3], int(fields[0])), raw


def merge_files(storage: Storage, parts: list[str], target: Path) -> None:
    """The review file of a large file: the first part's header, then every part's rows
    interleaved by their sort key (each part's file is sorted by it already)."""
    with storage.open_read(parts[0]) as stream, open(target, "wb") as out:
        header, _, _ = next(raw_records(stream, parts[0]))
        out.write(header)
    with open(target, "ab") as out:
        streams = [_records(storage, uri) for uri in parts]
        for _, raw in heapq.merge(*streams, key=lambda item: item[0]):
            out.write(raw)


def emit_file_checks(log: EventLog, summary: dict[str, Any], plan: OutputPlan) -> None:
    """The file's review line and shift warning (the stack's shift metric counts the latter)."""
    block = summary[names.SUMMARY_REVIEW]
    log.emit(
        names.REVIEW_EVENT,
        rows_auto_accepted=block["rows_auto_accepted"],
        **{names.ROWS_TO_REVIEW: block["rows_to_review"]},
        **block["by_reason"],
        review_file=plan.review,
    )
    found = summary[names.SUMMARY_SHIFT]
    log.emit(
        names.SHIFT_EVENT,
        **{names.LEVEL: found[names.LEVEL]},
        input=summary["input"],
        over_threshold=found["over_threshold"],
        **{k: v for k, v in found["signals"].items() if v is not None},
    )


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A person's two lines on a file's review routing and shift warning (demo, status)."""
    lines = []
    block = summary.get(names.SUMMARY_REVIEW)
    if block:
        reasons = ", ".join(f"{n} {r}" for r, n in block["by_reason"].items() if n)
        target = block["target_precision"]
        lines.append(
            f"review: {block['rows_to_review']} rows to review"
            + (f" ({reasons})" if reasons else "")
            + f", {block['rows_auto_accepted']} auto-accepted"
            + (f" at a threshold validated for precision {target}" if target else "")
            + (f"; compared with {block['compare_column']}" if block["compare_column"] else "")
            + f": {block['file']}"
        )
        if block["compare_unknown_labels"]:
            lines.append(
                "  submitted categories the model does not know: "
                + ", ".join(block["compare_unknown_labels"])
            )
    found = summary.get(names.SUMMARY_SHIFT)
    if found:
        over = ", ".join(found["over_threshold"])
        lines.append(
            f"shift: {found[names.LEVEL]}"
            + (f" ({over} over threshold)" if over else "")
            + (": its confidences mean less than the model's validation said"
               if found[names.LEVEL] != names.LEVELS[0] else "")
        )  # fmt: skip
    return lines
