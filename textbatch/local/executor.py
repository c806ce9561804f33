"""Runs the jobs submitted to the embedded moto server's Batch API, for real.

moto accepts SubmitJob and answers DescribeJobs, but runs a job only in Docker. This executor
takes the place of that runner, inside the same process. With a container engine (the
runtime, textbatch.local.runtime) each attempt runs as Batch runs it: in the image the job
definition names, its command (parameters substituted) after the image's `textbatch`
entrypoint, the job's environment, its vCPUs and memory as hard limits, a read-only root file
system and the scratch volumes the definition declares, the emulator reached over the host's
network. Without one, the same command runs as a process of this machine's virtualenv. Job
states move as in Batch (SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED/FAILED) and
are what DescribeJobs reports; the retry strategy's attempts and evaluateOnExit rules and the
attempt timeout are honoured; stdout and stderr go to CloudWatch Logs under the awslogs
driver's group and stream.

Terminating a job or reaching its attempt timeout sends SIGTERM, then SIGKILL 30 s later, as
Batch does (the jobs log it and write their file's report). A container the kernel killed for
its memory ends with Batch's OutOfMemoryError reason. Host loss is simulated with `textbatch
local reclaim JOB_ID`: the job is killed at once and the attempt ends with Batch's status reason
for a terminated instance.
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from textbatch_contract.calls import CALL_LOG_ENV

from textbatch.local.runtime import (
    CANNOT_START,
    ENGINE_FAILED,
    OUT_OF_MEMORY,
    ContainerSpec,
    Runtime,
)

ENTRYPOINT = (sys.executable, "-m", "textbatch.cli.main")  # the image's ENTRYPOINT ["textbatch"]
HOST_TERMINATED = "Host EC2 (instance i-0local) terminated."
TIMED_OUT = "Job attempt duration exceeded timeout"
STOP_GRACE_S = 30  # Batch's SIGTERM -> SIGKILL delay when it stops a container
CALL_LOG_MOUNT = "/textbatch-calls"  # where a job's container sees the call log directory
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
        runtime: Runtime | None = None,
    ) -> None:
        self.runtime = runtime or Runtime(None, "no runtime given")
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

    def shutdown(self) -> int:
        """The local cloud stops: its jobs' containers go with it (how many were left)."""
        return self.runtime.remove_owned(str(self.control_dir))

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
            # a terminated or timed-out attempt fails, as in Batch, even if the job exited 0
            # within its grace period
            if exit_code == 0 and status_reason is None:
                job.exit_code = 0
                job.job_stopped_reason = "Essential container in task exited"
                job._mark_stopped(success=True)
                return
            reason = job.latest_attempt["container"].get("reason")
            action = _action(rules, exit_code, status_reason, reason)
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
        env = dict(self.cloud_env)  # the job's own environment; a host process adds BASE_ENV
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
        process = _Process.start(self.runtime, job, attempt, command, env, str(self.control_dir))
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
                process.kill("SIGKILL")  # a lost host gives no warning
                break
            if status_reason:  # terminated or timed out: SIGTERM, SIGKILL after the grace
                process.kill("SIGTERM")
                if not process.wait(STOP_GRACE_S):
                    process.kill("SIGKILL")
                break
            time.sleep(0.2)
        exit_code = process.finish()
        reader.join(timeout=10)
        shipper.flush()
        if process.container_reason:
            job.latest_attempt["container"]["reason"] = process.container_reason
        if status_reason == HOST_TERMINATED:
            return None, status_reason  # the host is gone: no exit code, as in Batch
        return exit_code, status_reason


class _Process:
    """One attempt's process: the job's container (through the engine's CLI) or a host process."""

    def __init__(self, popen: subprocess.Popen, runtime: Runtime, name: str | None) -> None:
        self.popen = popen
        self.stdout = popen.stdout
        self.runtime = runtime
        self.name = name
        self.killed = False  # by this executor (a stop, a timeout, a lost host)
        self.container_reason: str | None = None

    @classmethod
    def start(
        cls,
        runtime: Runtime,
        job: Any,
        attempt: int,
        command: list[str],
        env: dict[str, str],
        owner: str,
    ) -> _Process:
        host = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
        if not runtime.containers:
            argv, popen_env, name = [*ENTRYPOINT, *command], {**host, **env}, None
        else:
            # a container name takes [a-zA-Z0-9_.-]: an array child's id is `<parent>:<index>`
            name = f"textbatch-{job.job_id.replace(':', '-')}-{attempt}"
            binds: tuple[tuple[str, str], ...] = ()
            if env.get(CALL_LOG_ENV):  # the tests' record of AWS calls: a directory here
                binds, env = (
                    ((env[CALL_LOG_ENV], CALL_LOG_MOUNT),),
                    {**env, CALL_LOG_ENV: CALL_LOG_MOUNT},
                )
            spec = dataclasses.replace(container_spec(job, command, env), owner=owner, binds=binds)
            argv = runtime.run_command(name, spec)
            # the engine's own settings (CONTAINERS_CONF, DOCKER_HOST, ...) and the job's
            popen_env = {**os.environ, **env}
        popen = subprocess.Popen(
            argv,
            env=popen_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return cls(popen, runtime, name)

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self, signal_name: str) -> None:
        self.killed = True
        if self.name is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, getattr(signal, signal_name))
        else:
            subprocess.run(self.runtime.signal_command(self.name, signal_name), capture_output=True)

    def finish(self) -> int:
        """The exit code, once the process has ended; a container is removed, and what the
        engine says of its end becomes the attempt's container reason, as in Batch."""
        exit_code = self.popen.wait()
        if self.name is None:
            return exit_code
        if exit_code == ENGINE_FAILED:
            self.container_reason = f"{CANNOT_START}: the engine could not start the container"
        elif exit_code == 137 and not self.killed:
            # SIGKILL that nobody here sent: the kernel's OOM killer at the memory limit (the
            # engine's OOMKilled flag is not set under cgroup v1, as on this sandbox)
            self.container_reason = OUT_OF_MEMORY
        subprocess.run(self.runtime.remove_command(self.name), capture_output=True)
        return exit_code


def container_spec(job: Any, command: list[str], env: dict[str, str]) -> ContainerSpec:
    """The container a job's attempt runs in: image, resources (the submission's overrides
    first), read-only root and scratch volumes, as the job definition declares them."""
    properties = job.job_definition.container_properties
    resources = {r["type"]: r["value"] for r in properties.get("resourceRequirements", [])}
    resources.update(
        {r["type"]: r["value"] for r in job.container_overrides.get("resourceRequirements", [])}
    )
    volumes = {v["name"]: v for v in properties.get("volumes", [])}
    scratch = tuple(
        m["containerPath"]
        for m in properties.get("mountPoints", [])
        if not (volumes.get(m["sourceVolume"], {}).get("host") or {}).get("sourcePath")
    )
    return ContainerSpec(
        image=properties["image"],
        command=command,
        environment=env,
        vcpus=float(resources["VCPU"]) if "VCPU" in resources else None,
        memory_mib=int(resources["MEMORY"]) if "MEMORY" in resources else None,
        read_only=bool(properties.get("readonlyRootFilesystem")),
        scratch=scratch,
        user=properties.get("user"),
        init=bool((properties.get("linuxParameters") or {}).get("initProcessEnabled")),
    )


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


def _action(
    rules: list[dict[str, str]], exit_code: int | None, status: str | None, reason: str | None
) -> str:
    """The first evaluateOnExit rule that matches decides; none matching means retry (Batch).
    `reason` is the container's (an engine that could not start it); a host process has none."""
    for rule in rules:
        checks = [
            ("onExitCode", None if exit_code is None else str(exit_code)),
            ("onReason", reason),
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
