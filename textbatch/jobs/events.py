"""One JSON object per line on stdout: what CloudWatch Logs holds and Logs Insights queries.
The line's shape and the names other processes read back are the contract's
(textbatch_contract.events): event first, None values dropped, floats rounded."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from textbatch_contract import events
from textbatch_contract.revisions import SUPERSEDED, Superseded

from textbatch.errors import StorageError


class EventLog:
    def __init__(self, stream: TextIO | None = None, *, job: str) -> None:
        self._stream = stream
        self.job = job

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = events.job_event(self.job, event, **fields)
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
