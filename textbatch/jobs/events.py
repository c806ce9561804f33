"""One JSON object per line on stdout: what CloudWatch Logs holds and Logs Insights queries.
The line's shape and the names other processes read back are the contract's
(textbatch_contract.events): event first, None values dropped, floats rounded.

A job run by a person on a terminal draws the same events as readable lines and a progress
bar on stderr instead (`--log-format`, or TEXTBATCH_LOG_FORMAT: `auto`, the default, is text
when stdout is a terminal and JSON lines otherwise, so Batch and every pipe get JSON)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from textbatch_contract import events
from textbatch_contract.revisions import SUPERSEDED, Superseded

from textbatch.errors import StorageError, TextbatchError

T = TypeVar("T")

LOG_FORMATS = ("auto", "text", "json")
LOG_FORMAT_ENV = "TEXTBATCH_LOG_FORMAT"
_renderer: Any = None  # a TerminalRenderer while this process draws its events for a person


def use_log_format(choice: str | None) -> str:
    """Set how this process's EventLogs without a stream of their own write: `text` (drawn on
    stderr) or `json` (lines on stdout); `auto` (or None and no TEXTBATCH_LOG_FORMAT) takes
    text when stdout is a terminal. Returns the format taken."""
    global _renderer
    choice = choice or os.environ.get(LOG_FORMAT_ENV) or "auto"
    if choice not in LOG_FORMATS:
        raise TextbatchError(
            f"{LOG_FORMAT_ENV}={choice!r} is not a log format",
            hint=f"use one of {', '.join(LOG_FORMATS)}",
        )
    if choice == "auto":
        choice = "text" if sys.stdout.isatty() else "json"
    if choice == "text":
        from textbatch.jobs.render import TerminalRenderer

        _renderer = TerminalRenderer(sys.stderr)
    else:
        _renderer = None
    return choice


class EventLog:
    def __init__(self, stream: TextIO | None = None, *, job: str) -> None:
        self._stream = stream
        self.job = job

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = events.job_event(self.job, event, **fields)
        if self._stream is None and _renderer is not None:
            _renderer.show(record)
            return record
        stream = self._stream or sys.stdout
        stream.write(events.line(record) + "\n")
        stream.flush()
        return record

    def report_failure(self, publisher: Any, uri: str, report: dict[str, Any]) -> None:
        """Log a job's failure and write its file's error report (through the job's
        `Storage.publisher`: not over a newer revision's outcome); a report that cannot be
        written is logged too (the failure reporter then writes one from Batch's view)."""
        self.emit(events.FAILED, **report)
        try:
            publisher.begin()
            publisher.put_json(uri, report)
        except Superseded as newer:
            self.superseded(newer)
        except StorageError as write_error:
            self.emit("error_report_not_written", uri=uri, reason=write_error.message)

    def superseded(self, newer: Superseded) -> None:
        """The job's outcome is not written: a newer revision of its upload exists."""
        self.emit(SUPERSEDED, **newer.fields(), message=str(newer))


def run_for_file(
    work: Callable[[], T],
    *,
    log: EventLog,
    publisher: Any,
    error_uri: str,
    report: dict[str, Any],
    has_result: Callable[[], bool] = lambda: False,
) -> T | None:
    """A job about one uploaded file (predict, cluster, split): `work`'s outcome; None when a
    newer revision of the upload superseded this one (logged, nothing written); on one of our
    errors, the file's error report (the error's own fields, then `report`'s), then the error
    again, unless `has_result()` says the file's result was already written (it stands)."""
    try:
        return work()
    except Superseded as newer:
        log.superseded(newer)
        return None
    except TextbatchError as exc:
        if not has_result():
            log.report_failure(publisher, error_uri, {**exc.as_report(), **report})
        raise
