"""A large file's split, array and merge jobs seen as one run, with its overall progress.

Rows done are exact: a succeeded child's rows come from the split's plan (each part's row
count), a running child's from its last progress line; after the merge, from the merge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from textbatch_contract.jobs import MERGE, PART, SPLIT
from textbatch_contract.parts import plan_uri

from textbatch.cloud.follow import child_index, children_ids
from textbatch.cloud.history import STATUSES, JobRecord, describe, record
from textbatch.io.storage import Storage

STAGES = {SPLIT.name: "splitting", PART.name: "predicting", MERGE.name: "merging"}


@dataclass(frozen=True)
class PartsProgress:
    size: int  # array children, one per part
    states: dict[str, int]  # children per Batch state
    rows_done: int | None
    rows_total: int | None
    children: list[JobRecord] = field(default_factory=list)  # running, failed, retried; by index

    @property
    def percent(self) -> float | None:
        if self.rows_done is None or not self.rows_total:
            return None
        return 100.0 * self.rows_done / self.rows_total

    def describe_states(self) -> str:
        shown = [f"{n} {s.lower()}" for s in STATUSES if (n := self.states.get(s))]
        return ", ".join(shown) or "not started"


@dataclass(frozen=True)
class ScaledRun:
    split: JobRecord | None
    array: JobRecord
    merge: JobRecord | None
    progress: PartsProgress

    @property
    def steps(self) -> list[JobRecord]:
        return [job for job in (self.split, self.array, self.merge) if job is not None]

    @property
    def status(self) -> str:
        """FAILED if a step failed, SUCCEEDED once merged, else the state of the step under way."""
        if any(job.status == "FAILED" for job in self.steps):
            return "FAILED"
        pending = [job for job in self.steps if job.status != "SUCCEEDED"]
        return pending[0].status if pending else "SUCCEEDED"

    @property
    def state(self) -> str:
        """The status, with what the run is doing while it runs: `RUNNING (predicting)`."""
        if self.status in ("SUCCEEDED", "FAILED"):
            return self.status
        pending = next(job for job in self.steps if job.status != "SUCCEEDED")
        return f"{self.status} ({STAGES.get(pending.step or '', pending.step)})"

    @property
    def started(self) -> float | None:
        starts = [job.started for job in self.steps if job.started is not None]
        return min(starts) if starts else None

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        ended = self.status in ("SUCCEEDED", "FAILED")
        stops = [job.stopped for job in self.steps if job.stopped is not None]
        return (max(stops) if ended and stops else time.time()) - self.started


def part_rows(storage: Storage, prefix: str | None) -> list[int] | None:
    """Each part's data rows, from the split's plan (None before the split, after the merge)."""
    plan = storage.read_json_or_none(plan_uri(prefix)) if prefix else None
    if not plan:
        return None
    return [part["rows"] for part in plan["parts"]]


def parts_progress(
    array: JobRecord,
    merge: JobRecord | None,
    *,
    batch: Any,
    logs: Any,
    log_group: str,
    storage: Storage,
    every_child: bool = False,
) -> PartsProgress:
    """Children counts and rows done, and the running and failed children (with
    `every_child`, the retried ones too, for a detailed view)."""
    properties = array.raw.get("arrayProperties", {})
    size = int(properties.get("size", 0))
    states = {s: n for s, n in (properties.get("statusSummary") or {}).items() if n}
    if merge is not None and merge.status == "SUCCEEDED" and merge.rows_done is not None:
        children = _children(array, batch, logs, log_group, ("FAILED",), every_child)
        return PartsProgress(size, states, merge.rows_done, merge.rows_done, children)
    rows = part_rows(storage, array.parts_prefix)
    succeeded = [child_index(i) for i in children_ids(batch, array.job_id, ("SUCCEEDED",))]
    children = _children(array, batch, logs, log_group, ("RUNNING", "FAILED"), every_child)
    if rows is None:
        return PartsProgress(size, states, None, None, children)
    running = sum(c.rows_done or 0 for c in children if c.status == "RUNNING")
    done = sum(rows[i] for i in succeeded if i < len(rows)) + running
    return PartsProgress(size, states, done, sum(rows), children)


def _children(
    array: JobRecord,
    batch: Any,
    logs: Any,
    log_group: str,
    statuses: tuple[str, ...],
    every_child: bool,
) -> list[JobRecord]:
    """The children in `statuses`; with `every_child`, also those retried in any state. Logs
    are read only for these, never for the thousands that simply succeeded."""
    ids = children_ids(batch, array.job_id, STATUSES if every_child else statuses)
    worth_a_look = [
        job
        for job in describe(batch, ids)
        if job["status"] in statuses or len(job.get("attempts", [])) > 1
    ]
    found = [record(job, logs=logs, log_group=log_group, queue_names={}) for job in worth_a_look]
    return sorted(found, key=lambda c: child_index(c.job_id))


def assemble(
    array: JobRecord,
    records: list[JobRecord],
    *,
    batch: Any,
    logs: Any,
    log_group: str,
    storage: Storage,
    every_child: bool = False,
) -> ScaledRun:
    """The run of an array job, with its split and merge found among `records`."""
    split = next((r for r in records if r.job_id in array.depends_on), None)
    merge = next((r for r in records if r.step == "merge" and array.job_id in r.depends_on), None)
    progress = parts_progress(
        array,
        merge,
        batch=batch,
        logs=logs,
        log_group=log_group,
        storage=storage,
        every_child=every_child,
    )
    return ScaledRun(split, array, merge, progress)


def is_array(job: JobRecord) -> bool:
    return job.step == PART.name and ":" not in job.job_id


def runs_of(
    records: list[JobRecord], *, batch: Any, logs: Any, log_group: str, storage: Storage
) -> list[JobRecord | ScaledRun]:
    """`records` with each large file's split, array and merge replaced by one ScaledRun, in
    the order of the records (the run takes the array job's place)."""
    runs = {
        r.job_id: assemble(r, records, batch=batch, logs=logs, log_group=log_group, storage=storage)
        for r in records
        if is_array(r)
    }
    absorbed = {j.job_id for run in runs.values() for j in (run.split, run.merge) if j}
    return [runs.get(r.job_id, r) for r in records if r.job_id not in absorbed]
