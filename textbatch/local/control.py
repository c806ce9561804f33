"""Start, find and stop the local cloud's background process."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from textbatch_contract.stack import STAGE_ENV

from textbatch.errors import TextbatchError
from textbatch.local import daemon
from textbatch.local.provision import LocalCloud

READY_TIMEOUT_S = 180
BUCKET_VARIABLES = {
    "TEXTBATCH_PREDICT_BUCKET": "PredictBucket",
    "TEXTBATCH_RESULTS_BUCKET": "ResultsBucket",
    "TEXTBATCH_MODELS_BUCKET": "ModelsBucket",
    "TEXTBATCH_TRAINING_BUCKET": "TrainingBucket",
    "TEXTBATCH_CONFIG_BUCKET": "ConfigBucket",
}


class LocalCloudError(TextbatchError):
    """The local cloud is not running, or could not start."""


def running() -> LocalCloud | None:
    if not (daemon.cloud_file().is_file() and daemon.pid_file().is_file()):
        return None
    try:
        os.kill(int(daemon.pid_file().read_text()), 0)
    except (ProcessLookupError, ValueError):
        return None
    return LocalCloud.from_json(daemon.cloud_file().read_text())


def require_running() -> LocalCloud:
    cloud = running()
    if cloud is None:
        raise LocalCloudError("the local cloud is not running", hint="start it: textbatch local up")
    return cloud


def environment(cloud: LocalCloud) -> dict[str, str]:
    """What `textbatch local env` exports: endpoints, region, dummy credentials, bucket names."""
    env = dict(cloud.endpoints.environment())
    env[STAGE_ENV] = "local"
    env.update({variable: cloud.outputs[output] for variable, output in BUCKET_VARIABLES.items()})
    return env


def start(
    endpoint: str | None,
    port: int | None,
    *,
    runtime: str = "auto",
    tick: Callable[[], None] = lambda: None,
) -> LocalCloud:
    """Start the background process and return once the local cloud is ready."""
    if importlib.util.find_spec("moto") is None:  # its Batch, DynamoDB (and S3 without --endpoint)
        raise TextbatchError(
            "the local cloud needs moto, which this installation lacks",
            hint="pip install 'textbatch[local]' (make install has it)",
        )
    home = daemon.home()
    home.mkdir(parents=True, exist_ok=True)
    daemon.cloud_file().unlink(missing_ok=True)
    log_path = home / "daemon.log"
    command = [sys.executable, "-m", "textbatch.cli.main", "local", "serve"]
    command += ["--endpoint", endpoint] if endpoint else []
    command += ["--port", str(port)] if port else []
    command += ["--runtime", runtime]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    daemon.pid_file().write_text(str(process.pid))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if daemon.cloud_file().is_file():
            return LocalCloud.from_json(daemon.cloud_file().read_text())
        tick()
        time.sleep(1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    daemon.pid_file().unlink(missing_ok=True)
    raise LocalCloudError(
        f"the local cloud did not start; its log ({log_path}) ends:\n{log_path.read_text()[-3000:]}"
    )


def stop() -> bool:
    """Stop the background process; False when none was running."""
    if not daemon.pid_file().is_file():
        return False
    pid = int(daemon.pid_file().read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(150):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    daemon.pid_file().unlink(missing_ok=True)
    daemon.cloud_file().unlink(missing_ok=True)
    return True
