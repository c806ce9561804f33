"""Waiting on a job past its time is a user-facing error (one line, exit 1), not a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from textbatch.cli import main as cli
from textbatch.cloud.follow import follow
from textbatch.errors import CloudError, WaitTimeout


class StuckBatch:
    """A Batch client whose job never leaves RUNNABLE (no capacity)."""

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        return {"jobs": [{"jobId": jobs[0], "jobName": "tb-x", "status": "RUNNABLE"}]}


def test_following_a_stuck_job_ends_in_a_wait_timeout() -> None:
    with pytest.raises(WaitTimeout, match="still RUNNABLE after the time allowed") as raised:
        list(follow(StuckBatch(), None, "job-1", log_group="g", timeout_seconds=0.05))
    assert isinstance(raised.value, CloudError)
    assert "textbatch status" in (raised.value.hint or "")


def test_the_cli_prints_it_as_one_message(monkeypatch, capsys) -> None:
    from textbatch.cli import jobs

    def stuck(args: Any) -> int:
        list(follow(StuckBatch(), None, "job-1", log_group="g", timeout_seconds=0.05))
        return 0

    monkeypatch.setattr(jobs, "run", stuck)  # a cloud command that waits on the stuck job
    assert cli.main(["jobs"]) == 1
    message, hint = capsys.readouterr().err.splitlines()
    assert message == "error: job job-1 still RUNNABLE after the time allowed"
    assert hint.startswith("  hint: it goes on in Batch")
