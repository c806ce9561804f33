"""A large file's three jobs read as one run: its state while it runs and once it ended."""

from __future__ import annotations

import pytest

from textbatch.cloud.history import JobRecord
from textbatch.cloud.scaled import PartsProgress, ScaledRun


def job(step: str, status: str, started: float | None = None, stopped: float | None = None):
    return JobRecord(
        job_id=f"{step}-id", name=step, kind="predict", step=step, queue="q", status=status,
        attempts=1, created=0.0, started=started, stopped=stopped, input=None, output=None,
        rows_done=None, status_reason=None, raw={},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("split", "parts", "merge", "state"),
    [
        ("RUNNABLE", "PENDING", "PENDING", "RUNNABLE (splitting)"),
        ("SUCCEEDED", "RUNNING", "PENDING", "RUNNING (predicting)"),
        ("SUCCEEDED", "SUCCEEDED", "STARTING", "STARTING (merging)"),
        ("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"),
        ("SUCCEEDED", "FAILED", "FAILED", "FAILED"),
        ("FAILED", "PENDING", "PENDING", "FAILED"),  # a dependent not yet failed by Batch
    ],
)
def test_the_state_is_the_step_under_way_or_the_end(split, parts, merge, state) -> None:
    progress = PartsProgress(size=3, states={}, rows_done=None, rows_total=None)
    run = ScaledRun(job("split", split), job("predict-part", parts), job("merge", merge), progress)
    assert run.state == state


def test_the_duration_spans_split_start_to_merge_end() -> None:
    progress = PartsProgress(size=2, states={"SUCCEEDED": 2}, rows_done=10, rows_total=10)
    run = ScaledRun(
        job("split", "SUCCEEDED", 100.0, 110.0),
        job("predict-part", "SUCCEEDED"),  # an array parent has no start of its own
        job("merge", "SUCCEEDED", 150.0, 165.0),
        progress,
    )
    assert run.duration == 65.0
    assert progress.percent == 100.0
    assert progress.describe_states() == "2 succeeded"


def test_a_run_of_parts_without_data_rows_prints_without_a_percentage(capsys) -> None:
    from textbatch.cli.status import print_run

    progress = PartsProgress(size=2, states={"SUCCEEDED": 2}, rows_done=0, rows_total=0)
    run = ScaledRun(None, job("predict-part", "SUCCEEDED"), None, progress)
    print_run(run)
    assert capsys.readouterr().out.startswith("large file: 2 parts, SUCCEEDED, 0 of 0 rows, took")
