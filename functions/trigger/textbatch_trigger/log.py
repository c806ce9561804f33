"""One JSON line per decision, fixed key order, None dropped: easy to query in Logs Insights."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def log(decision: str, **fields: Any) -> dict[str, Any]:
    record = {"decision": decision, "component": "trigger", "time": _now()}
    record.update({k: v for k, v in fields.items() if v is not None})
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return record


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
