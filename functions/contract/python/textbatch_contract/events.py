"""The JSON log lines: one object per line on stdout, what CloudWatch Logs holds, the stack's
metric filters count, its saved Logs Insights queries select, and `textbatch logs`, `status`,
`jobs` and `train --follow` read back.

Two kinds of line, told apart by their first key:
- a Batch job's event: `{"event": NAME, "job": "predict"|"train"|"split"|"merge"|"cluster",
  "time": ...}`
  then the event's fields (textbatch/jobs/events.py writes them);
- a Lambda function's decision about a file or a job:
  `{"decision": NAME, "component": "trigger"|"reporter", "time": ...}` then its fields
  (written through Powertools' Logger, which adds its own keys after ours).
Fields whose value is None are left out; floats are rounded to 5 places. Only the names and
keys another process reads are named here; a job may log more.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

# keys every line starts with
EVENT, JOB, DECISION, COMPONENT, TIME = "event", "job", "decision", "component", "time"
HEADER_KEYS = (EVENT, JOB, DECISION, COMPONENT, TIME)

# the `job` key of a Batch job's events: the job's name (textbatch_contract.jobs.EVENTS_JOB)

# a job's events that another process reads
START, PROGRESS, DONE, FAILED = "start", "progress", "done", "failed"
SPLIT_DONE, MERGE_DONE, FAILED_PARTS = "split_done", "merge_done", "failed_parts"
PROMOTION = "promotion"  # the train job's promotion gate, and `textbatch models` moves
VALIDATION, SPLIT, EARLY_STOP, DATA, EMBEDDINGS = (
    "validation",
    "split",
    "early_stop",
    "data",
    "embeddings",
)
ENCODER, ENSEMBLE = "encoder", "ensemble"  # the encoder family's source, and its blend
# their fields that another process reads
ROWS_IN, ROWS_DONE, ROWS_REJECTED, SECONDS = "rows_in", "rows_done", "rows_rejected", "seconds"
VALIDATION_ACCURACY = "validation_accuracy"
# The train job's events that `textbatch train --wait` shows (textbatch.cloud.training), and
# the fields every family gives each of them; the others a line may have are optional (a
# network's `loss` and `lr`, `train_accuracy`, `best`, a grouped split's `groups`).
TRAIN_FIELDS: dict[str, tuple[str, ...]] = {
    SPLIT: ("by",),
    VALIDATION: ("epoch", "accuracy"),
    EARLY_STOP: ("epoch", "best_epoch"),
    DATA: ("train_rows", "validation_rows"),
    EMBEDDINGS: ("source",),
    ENCODER: ("source", "layers", "hidden", "seq_len", "head_tokens", "sha256"),
    ENSEMBLE: ("partner", "weight"),
    PROMOTION: ("promoted", "reason", "version"),
    DONE: ("version", "location", VALIDATION_ACCURACY),
}

# the Lambda functions and their decisions
TRIGGER, REPORTER = "trigger", "reporter"
SUBMITTED, DUPLICATE, IGNORED, WITHDRAWN, REPORTED = (
    "submitted",
    "duplicate",
    "ignored",
    "withdrawn",
    "reported",
)
NOT_SUBMITTED = "failed"  # the trigger's decision when its AWS calls failed (it retries)
CLAIMED = "claimed"  # another invocation holds the revision's claim: this one fails, to retry
# a retry took over a dead invocation's claim and found the job it had submitted: recorded
ADOPTED = "adopted"

# Powertools' Logger, set to write our keys first, in UTC, non-ASCII as it is (the operations
# commands find a file's lines by its key with a filter pattern: an escaped key would not match).
LOGGER_OPTIONS: dict[str, Any] = {
    "utc": True,
    "datefmt": "%Y-%m-%dT%H:%M:%SZ",
    "log_record_order": [DECISION, COMPONENT, TIME],
    "json_serializer": functools.partial(json.dumps, ensure_ascii=False, default=str),
}


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def job_event(job: str, event: str, /, **fields: Any) -> dict[str, Any]:
    """A job's event line as a dict, keys in order."""
    record: dict[str, Any] = {EVENT: event, JOB: job, TIME: now()}
    for key, value in fields.items():
        if value is not None:
            record[key] = round(value, 5) if isinstance(value, float) else value
    return record


def decision(component: str, what: str, /, **fields: Any) -> dict[str, Any]:
    """A function's decision line as a dict, keys in order."""
    record: dict[str, Any] = {DECISION: what, COMPONENT: component, TIME: now()}
    record.update({k: v for k, v in fields.items() if v is not None})
    return record


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def parse(text: str) -> dict[str, Any] | None:
    """A log line as one of ours (a job event or a decision), else None."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(record, dict) and (EVENT in record or DECISION in record):
        return record
    return None


def name_of(record: dict[str, Any]) -> str:
    """`done`, `progress`...; a decision as `trigger submitted`."""
    if EVENT in record:
        return str(record[EVENT])
    return f"{record.get(COMPONENT, TRIGGER)} {record.get(DECISION)}"


def fields_of(record: dict[str, Any], *also_hidden: str) -> dict[str, Any]:
    """A line's own fields: without the header keys (and Powertools' own keys)."""
    hidden = {*HEADER_KEYS, *POWERTOOLS_KEYS, *also_hidden}
    return {k: v for k, v in record.items() if k not in hidden}


# what Powertools' Logger adds after our keys (inject_lambda_context adds the function_* ones)
POWERTOOLS_KEYS = (
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "sampling_rate",
    "xray_trace_id",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
)


def metric_filter(event: str, job: str | None = None) -> str:
    """A CloudWatch Logs JSON filter pattern for a job's event."""
    pattern = f'$.{EVENT} = "{event}"'
    return f'$.{JOB} = "{job}" && {pattern}' if job else pattern


def decision_logger(logger: Any, component: str) -> Callable[..., dict[str, Any]]:
    """`log(decision, **fields)` for a function, through a Powertools Logger made with
    LOGGER_OPTIONS (any `logging`-style logger whose `info` takes `extra`). Returns the record.
    Powertools' `location` would name this function on every line: left out. (Its
    `append_context_keys` would drop our keys' places in the order after the first line.)"""
    logger.remove_keys(["location"])

    def log(what: str, /, **fields: Any) -> dict[str, Any]:
        record = decision(component, what, **fields)
        extra = {f"{k}_" if k in _LOG_RECORD_ATTRIBUTES else k: v for k, v in record.items()}
        logger.info(what, extra=extra)
        return record

    return log


# names `logging` refuses in `extra` (a field called `name` is logged as `name_`)
_LOG_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class CurrentStdout:
    """A stream that writes to whatever sys.stdout is when it writes: the local cloud's relay
    redirects a function's stdout per invocation to its log group, the way Lambda does."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()
