"""One JSON object per line on stdout: what CloudWatch Logs holds and Logs Insights queries.

Keys keep a fixed order (event first), None values are dropped, floats are rounded.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


class EventLog:
    def __init__(self, stream: TextIO | None = None, *, job: str) -> None:
        self._stream = stream
        self.job = job

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"event": event, "job": self.job, "time": _now()}
        for key, value in fields.items():
            if value is not None:
                record[key] = round(value, 5) if isinstance(value, float) else value
        stream = self._stream or sys.stdout
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        stream.flush()
        return record


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
