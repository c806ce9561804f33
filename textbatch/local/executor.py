"""Runs the jobs submitted to the embedded moto server's Batch API, for real.

moto accepts SubmitJob and answers DescribeJobs, but runs a job only in Docker. This executor
takes the place of that runner, inside the same process: each job's command (the job
definition's, parameters substituted, as the image's `textbatch` entrypoint would receive it)
runs in a subprocess with the environment Batch gives a container. Job states move as in Batch
(SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED/FAILED) and are what DescribeJobs
reports; the retry strategy's attempts and evaluateOnExit rules and the attempt timeout are
honoured; stdout and stderr go to CloudWatch Logs under the awslogs driver's group and stream.

Terminating a job or reaching its attempt timeout sends the process group SIGTERM, then SIGKILL
30 s later, as Batch does (the jobs log it and write their file's report). Host loss is
simulated with `textbatch local reclaim JOB_ID`: the process is killed at once and the attempt
ends with Batch's status reason for a terminated instance.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ENTRYPOINT = (sys.executable, "-m", "textbatch.cli.main")  # the image's ENTRYPOINT ["textbatch"]
HOST_TERMINATED = "Host EC2 (instance i-0local) terminated."
TIMED_OUT = "Job attempt duration exceeded timeout"
STOP_GRACE_S = 30  # Batch's SIGTERM -> SIGKILL delay when it stops a container
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


def reclaim_marker(control_dir: Path, job_id: str) -> Path:
    """The file whose appearance tells the executor to lose a job's host."""
    return control_dir / f"reclaim-{job_id}"


class JobExecutor:
    def __init__(
        self,
        *,
        cloud_env: dict[str, str],
        logs_client: Callable[[], Any],
        control_dir: Path,
        max_parallel: int = 2,
        on_failed: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.on_failed = on_failed  # given each job (DescribeJobs' shape) that ends FAILED
        self.cloud_env = cloud_env
        self.logs_client = logs_client
        self.control_dir = control_dir
        self.slots = threading.Semaphore(max_parallel)
        control_dir.mkdir(parents=True, exist_ok=True)

    def install(self) -> None:
        """Make every moto Batch job run through this executor."""
        from moto.batch import models
        from moto.moto_api import state_manager

        # States move only when this executor moves them.
        state_manager.set_transition("batch::job", {"progression": "manual", "times": 10**9})
        executor = self

        def run(job: Any) -> None:
            try:
                executor.run(job)
            except Exception as exc:  # an executor bug must not leave a job RUNNING forever
                job.job_stopped_reason = f"local executor error: {exc}"
                job._mark_stopped(success=False)

        models.Job.run = run
        mark_stopped = models.Job._mark_stopped

        def stopped(job: Any, success: bool = True) -> None:
            already = job.job_stopped
            mark_stopped(job, success)
            if not already and not success and executor.on_failed:
                executor.on_failed(job.describe())  # as Batch's state change event carries it

        models.Job._mark_stopped = stopped

    def run(self, job: Any) -> None:
        job.status = "PENDING"
        if job.depends_on and not self._dependencies_succeeded(job):
            return
        definition = job.job_definition
        retry = definition.retry_strategy or {}
        attempts = int(retry.get("attempts", 1))
        rules = retry.get("evaluateOnExit", [])
        for attempt in range(1, attempts + 1):
            job.status = "RUNNABLE"
            with self.slots:
                if job.stop:
                    job._mark_stopped(success=False)
                    return
                exit_code, status_reason = self._attempt(job, attempt)
            job.latest_attempt["container"]["exitCode"] = exit_code
            job.latest_attempt["statusReason"] = (
                status_reason or "Essential container in task exited"
            )
            job.latest_attempt["stoppedAt"] = int(time.time() * 1000)
            if exit_code == 0:
                job.exit_code = 0
                job.job_stopped_reason = "Essential container in task exited"
                job._mark_stopped(success=True)
                return
            action = _action(rules, exit_code, status_reason)
            if status_reason == TIMED_OUT or job.stop or action == "EXIT" or attempt == attempts:
                job.exit_code = exit_code
                job.job_stopped_reason = (
                    job.job_stopped_reason
                    or status_reason
                    or (f"Essential container in task exited (exit code {exit_code})")
                )
                job._mark_stopped(success=False)
                return

    def _dependencies_succeeded(self, job: Any) -> bool:
        """Wait, as Batch does, until every job `job` depends on has succeeded (an array job:
        all its children); a failed one fails `job` too, with Batch's reason."""
        ids = [dependency["jobId"] for dependency in job.depends_on]
        while True:
            states = [_state(job.all_jobs[i]) for i in ids if i in job.all_jobs]
            if "FAILED" in states or job.stop:
                job.job_stopped_reason = job.job_stopped_reason or "Dependent Job failed"
                job._mark_stopped(success=False)
                return False
            if len(states) == len(ids) and all(state == "SUCCEEDED" for state in states):
                return True
            time.sleep(0.2)

    def _attempt(self, job: Any, attempt: int) -> tuple[int | None, str | None]:
        """One attempt: STARTING, RUNNING, the process, its logs. Returns the exit code and the
        status reason."""
        job.status = "STARTING"
        definition = job.job_definition
        container = definition.container_properties
        options = (container.get("logConfiguration") or {}).get("options", {})
        group = options.get("awslogs-group", "/aws/batch/job")
        prefix = options.get("awslogs-stream-prefix", definition.name)
        task_id = uuid.uuid4().hex
        job.log_stream_name = f"{prefix}/default/{task_id}"
        job.job_started_at = datetime.now()
        job._start_attempt()
        command = job._add_parameters_to_command(
            job.container_overrides.get("command") or container.get("command", [])
        )
        env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
        env.update(self.cloud_env)
        env.update({e["name"]: e["value"] for e in job._get_container_property("environment", [])})
        env.update(
            {
                "AWS_BATCH_JOB_ID": job.job_id,
                "AWS_BATCH_JOB_ATTEMPT": str(attempt),
                "AWS_BATCH_JQ_NAME": job.job_queue.name,
                "AWS_BATCH_CE_NAME": "local",
                "PYTHONUNBUFFERED": "1",
            }
        )
        index = (job.array_properties or {}).get("index")
        if index is not None:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        shipper = _LogShipper(self.logs_client(), group, job.log_stream_name)
        process = subprocess.Popen(
            [*ENTRYPOINT, *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        job.status = "RUNNING"
        reader = threading.Thread(target=shipper.pump, args=(process.stdout,), daemon=True)
        reader.start()
        deadline = job._get_attempt_duration()
        started = time.monotonic()
        reclaim = reclaim_marker(self.control_dir, job.job_id)
        status_reason = None
        while process.poll() is None:
            if reclaim.exists():
                reclaim.unlink()
                status_reason = HOST_TERMINATED
            elif deadline and time.monotonic() - started > deadline:
                status_reason = TIMED_OUT
            elif job.stop:
                status_reason = job.job_stopped_reason or "Terminated by user"
            if status_reason == HOST_TERMINATED:
                os.killpg(process.pid, signal.SIGKILL)  # a lost host gives no warning
                break
            if status_reason:  # terminated or timed out: SIGTERM, SIGKILL after the grace
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.2)
        exit_code = process.wait()
        reader.join(timeout=10)
        shipper.flush()
        if status_reason == HOST_TERMINATED:
            return None, status_reason  # the host is gone: no exit code, as in Batch
        return exit_code, status_reason


def _state(job: Any) -> Any:
    """A job's status; an array job's follows its children (moto's only when described): it
    succeeds when all have, fails once all are done and any failed."""
    children = job._child_jobs
    if not children:
        return job.status
    statuses = [child.status for child in children]
    if all(status == "SUCCEEDED" for status in statuses):
        job._mark_stopped(success=True)
    elif all(status in ("SUCCEEDED", "FAILED") for status in statuses):
        job.job_stopped_reason = f"{statuses.count('FAILED')} of {len(statuses)} children failed"
        job._mark_stopped(success=False)
    return job.status if job.job_stopped else "PENDING"


def _action(rules: list[dict[str, str]], exit_code: int | None, status: str | None) -> str:
    """The first evaluateOnExit rule that matches decides; none matching means retry (Batch).
    A local process has no container-level reason (image pulls and the like), so an onReason
    rule never matches here."""
    for rule in rules:
        checks = [
            ("onExitCode", None if exit_code is None else str(exit_code)),
            ("onReason", None),
            ("onStatusReason", status),
        ]
        if all(
            value is not None and fnmatch.fnmatchcase(value, rule[key])
            for key, value in checks
            if key in rule
        ):
            return rule["action"].upper()
    return "RETRY"


class _LogShipper:
    """A process's output lines, as CloudWatch log events, in batches."""

    def __init__(self, client: Any, group: str, stream: str) -> None:
        self.client = client
        self.group = group
        self.stream = stream
        self.pending: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_log_group(logGroupName=group)
        client.create_log_stream(logGroupName=group, logStreamName=stream)

    def pump(self, stream: Any) -> None:
        for line in stream:
            with self.lock:
                self.pending.append(
                    {"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")}
                )
            if time.monotonic() - self.last_flush > 1.0:
                self.flush()

    def flush(self) -> None:
        with self.lock:
            events, self.pending = self.pending, []
            self.last_flush = time.monotonic()
        for start in range(0, len(events), 5000):
            self.client.put_log_events(
                logGroupName=self.group,
                logStreamName=self.stream,
                logEvents=events[start : start + 5000],
            )
