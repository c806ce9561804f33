"""The local cloud's background process: emulator, provisioning, relay and executor."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from textbatch_contract import stack as stack_outputs
from textbatch_contract.calls import CALL_LOG_ENV

from textbatch.local import runtime
from textbatch.local.executor import JobExecutor
from textbatch.local.provision import STACK, Endpoints, LocalCloud, provision, remove_stack
from textbatch.local.relay import EventRelay, FailedJobRelay
from textbatch.local.template import synthesized_template

MOTO_SERVICES = ("batch", "dynamodb", "iam")  # iam: the roles moto's Batch checks


def home() -> Path:
    """The local cloud's state: TEXTBATCH_LOCAL_HOME, else one per Python environment (a
    clone's .venv, a user's virtualenv: <sys.prefix>/var/textbatch-local), so two clones run
    two local clouds, each with its own code, never one started by the other's."""
    if os.environ.get("TEXTBATCH_LOCAL_HOME"):
        return Path(os.environ["TEXTBATCH_LOCAL_HOME"])
    if sys.prefix != sys.base_prefix:  # a virtualenv
        return Path(sys.prefix) / "var" / "textbatch-local"
    return Path.home() / ".textbatch" / "local"


def cloud_file() -> Path:
    return home() / "cloud.json"


def pid_file() -> Path:
    return home() / "daemon.pid"


def control_dir() -> Path:
    return home() / "control"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(endpoint: str | None, port: int | None, runtime_mode: str = "auto") -> None:
    """Run until SIGTERM: start moto, provision, then relay events and execute jobs (in their
    images where the runtime has a container engine)."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto = f"http://127.0.0.1:{port}"
    endpoints = Endpoints(default=endpoint or moto, moto=moto)
    os.environ.update(endpoints.environment())

    def client(service: str) -> Any:
        url = endpoints.moto if service in MOTO_SERVICES else endpoints.default
        return boto3.client(service, endpoint_url=url, region_name=endpoints.region)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    template = synthesized_template(home().parent / "cache")
    cloud = provision(template, endpoints, client)
    job_runtime = runtime.choose(runtime_mode)
    cloud.outputs[runtime.RUNTIME_OUTPUT] = job_runtime.describe()
    _publish_outputs(client("cloudformation"), cloud)

    reporter = FailedJobRelay(
        sqs=client("sqs"),
        logs=client("logs"),
        dead_letter_url=cloud.dead_letter_queue_url,
        function_name=cloud.outputs[stack_outputs.REPORTER_FUNCTION],
        log_group=cloud.outputs[stack_outputs.REPORTER_LOG_GROUP],
    )
    job_env = endpoints.environment()
    if os.environ.get(CALL_LOG_ENV):  # the IAM test's record of every AWS call (jobs too)
        job_env[CALL_LOG_ENV] = os.environ[CALL_LOG_ENV]
    executor = JobExecutor(
        cloud_env=job_env,
        logs_client=lambda: client("logs"),
        control_dir=control_dir(),
        on_failed=lambda job: reporter.publish(job, endpoints.region),
        runtime=job_runtime,
    )
    executor.install()
    relay = EventRelay(
        sqs=client("sqs"),
        logs=client("logs"),
        queue_url=cloud.events_queue_url,
        dead_letter_url=cloud.dead_letter_queue_url,
        function_name=cloud.trigger_function,
        environment=cloud.trigger_environment,
        log_group=cloud.outputs[stack_outputs.TRIGGER_LOG_GROUP],
    )
    relay_thread = threading.Thread(target=relay.serve, daemon=True)
    relay_thread.start()
    reporter_thread = threading.Thread(target=reporter.serve, daemon=True)
    reporter_thread.start()
    cloud_file().write_text(cloud.to_json())
    print(f"local cloud ready: {json.dumps(cloud.outputs)}", flush=True)
    stop.wait()
    executor.shutdown()
    relay.stopping.set()
    reporter.stopping.set()
    relay_thread.join(timeout=5)
    reporter_thread.join(timeout=5)
    if endpoint:  # a LocalStack of the user's: remove what this run created there
        remove_stack(client)
    server.stop()


def _publish_outputs(cloudformation: Any, cloud: LocalCloud) -> None:
    """Add the stack's outputs (names of everything, local or not) to the local stack, so that
    commands find the local stage as they find a deployed one."""
    body = cloudformation.get_template(StackName=STACK)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else dict(body)
    template["Outputs"] = {key: {"Value": value} for key, value in cloud.outputs.items()}
    cloudformation.update_stack(StackName=STACK, TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_update_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
