"""The split job: stream a CSV once and write N part objects cut on record boundaries.

Boundaries come from the same CSV parser the predict job uses (RFC 4180, strict), so a quoted
newline is never a cut. Part k ends at the first record boundary at or after (k + 1) / N of
the input; each part starts with the input's header. The bytes of the records are copied as
they are (an invalid UTF-8 byte is the predict job's to report, with its line).
"""

from __future__ import annotations

import io
import math
import tempfile
import time
from pathlib import Path

from textbatch_contract import OutputPlan, events
from textbatch_contract.parts import Part, PartsPlan, part_name

from textbatch.errors import InputError
from textbatch.io.csv_table import raw_records, reader
from textbatch.io.storage import Storage, join
from textbatch.jobs.events import EventLog, run_for_file
from textbatch.jobs.routing import compare_column_for, missing_column


def run_split(
    input_uri: str,
    prefix: str,
    count: int,
    *,
    output: str,
    storage: Storage,
    log: EventLog,
    version: str | None = None,
) -> PartsPlan:
    """Split revision `version` of the input (None: the latest), or write the file's error
    report (as a single predict job would) and raise."""
    plan = OutputPlan.for_request(input_uri, output)
    split = run_for_file(
        lambda: _split(input_uri, prefix, count, storage=storage, log=log, version=version),
        log=log,
        publisher=storage.publisher(input_uri, version, plan.outcome()),
        error_uri=plan.error,
        report={"input": input_uri, "input_version": version},
    )
    assert split is not None  # splitting writes no outcome: nothing supersedes it
    return split


def _compare_column(
    input_uri: str, version: str | None, header: bytes, storage: Storage
) -> str | None:
    """The compare column the parts use: as one predict job would find it, checked against
    the header here, so that a missing column fails the file before any part runs."""
    name, required, where = compare_column_for(input_uri, version, None, storage)
    if name is None:
        return None
    fields = next(reader(io.StringIO(header.decode("utf-8", "surrogateescape"), newline="")))
    if name in fields:
        return name
    if required:
        raise missing_column(input_uri, name, where, fields)
    return None


def _split(
    input_uri: str, prefix: str, count: int, *, storage: Storage, log: EventLog, version: str | None
) -> PartsPlan:
    started = time.perf_counter()
    size = storage.size(input_uri, version=version)
    log.emit("split_start", input=input_uri, bytes=size, parts=count, prefix=prefix)
    parts: list[Part] = []
    with (
        storage.open_read(input_uri, version=version) as stream,
        tempfile.TemporaryDirectory() as tmp,
    ):
        if stream.peek(3)[:3] == b"\xef\xbb\xbf":
            stream.read(3)  # the byte-order mark: the predict job ignores it too
        items = raw_records(stream, input_uri)
        offset = 0  # bytes of the input consumed, blank lines before the header included
        blank = True
        while blank:
            header, header_line, blank = next(items, (b"", 0, False))
            if not header:
                raise InputError(f"{input_uri} is empty: no header row and no data")
            offset += len(header)
        header_lines = header.count(b"\n") or 1
        rows = 0
        path = Path(tmp) / "part.csv"

        def open_part() -> tuple[io.BufferedWriter, int, int, int]:
            out = open(path, "wb")  # noqa: SIM115 - closed in close_part
            out.write(header)
            return out, offset, rows, lines_done

        def close_part(state: tuple[io.BufferedWriter, int, int, int]) -> None:
            out, start, row_offset, line_offset = state
            out.close()
            index = len(parts)
            uri = join(prefix, part_name(index))
            storage.upload(path, uri, content_type="text/csv")
            line_offset -= header_lines  # the part's own header lines
            parts.append(
                Part(index, uri, start, offset, row_offset, line_offset, rows - row_offset)
            )
            log.emit("part", index=index, bytes=offset - start, first_row=row_offset + 1)

        lines_done = header_line
        state = open_part()
        target = math.ceil(size / count)
        for raw, line_num, blank in items:
            state[0].write(raw)
            offset += len(raw)
            rows += 0 if blank else 1
            lines_done = line_num
            while len(parts) < count - 1 and offset >= (len(parts) + 1) * target:
                close_part(state)
                state = open_part()
        close_part(state)
        while len(parts) < count:  # more parts than records: empty ones keep the array size
            state = open_part()
            close_part(state)
    plan = PartsPlan(
        input=input_uri,
        prefix=prefix,
        parts=parts,
        input_version=version,
        compare_column=_compare_column(input_uri, version, header, storage),
    )
    plan.save(storage)
    seconds = time.perf_counter() - started
    log.emit(
        events.SPLIT_DONE,
        parts=len(parts),
        rows=rows,
        bytes=size,
        seconds=round(seconds, 3),
        mb_per_s=round(size / 1e6 / max(seconds, 1e-9), 1),
    )
    return plan
