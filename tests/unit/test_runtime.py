"""How the local cloud runs a job: the runtime it chooses, and the container it starts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from textbatch.local import images, runtime
from textbatch.local.executor import _action, container_spec
from textbatch.local.runtime import ContainerSpec, Runtime, RuntimeUnavailable


def test_no_engine_means_host_processes_and_says_why(monkeypatch) -> None:
    monkeypatch.setattr(images, "engine", lambda: None)
    chosen = runtime.choose("auto")
    assert not chosen.containers
    assert chosen.describe() == (
        "host processes (no container engine: install podman or docker, then `make images`)"
    )
    with pytest.raises(RuntimeUnavailable, match="cannot run in containers here: no container"):
        runtime.choose("container")


def test_images_older_than_the_code_are_not_used(monkeypatch) -> None:
    monkeypatch.setattr(images, "engine", lambda: ["podman"])
    monkeypatch.setattr(images, "built_from", lambda engine, image: "an-older-digest")
    chosen = runtime.choose("auto")
    assert not chosen.containers
    assert "older than the code: run `make images`" in chosen.why
    monkeypatch.setattr(images, "built_from", lambda engine, image: images.source_digest())
    chosen = runtime.choose("auto")
    assert chosen.containers
    assert chosen.images == images.IMAGES
    assert chosen.describe().startswith("containers (podman: localhost/textbatch-cpu:latest")
    assert not runtime.choose("process").containers


def test_the_container_follows_the_job_definition_and_the_overrides() -> None:
    definition = SimpleNamespace(
        container_properties={
            "image": "localhost/textbatch-cpu:latest",
            "resourceRequirements": [
                {"type": "VCPU", "value": "4"},
                {"type": "MEMORY", "value": "7168"},
            ],
            "readonlyRootFilesystem": True,
            "volumes": [
                {"name": "scratch", "host": {}},
                {"name": "data", "host": {"sourcePath": "/d"}},
            ],
            "mountPoints": [
                {"containerPath": "/tmp", "sourceVolume": "scratch"},
                {"containerPath": "/data", "sourceVolume": "data"},
            ],
            "linuxParameters": {"initProcessEnabled": True},
        }
    )
    job = SimpleNamespace(
        job_definition=definition,
        container_overrides={"resourceRequirements": [{"type": "MEMORY", "value": "64"}]},
    )
    spec = container_spec(job, ["predict", "--model", "m"], {"AWS_REGION": "us-east-1"})
    assert spec == ContainerSpec(
        image="localhost/textbatch-cpu:latest",
        command=["predict", "--model", "m"],
        environment={"AWS_REGION": "us-east-1"},
        vcpus=4.0,
        memory_mib=64,  # the submission's override wins
        read_only=True,
        scratch=("/tmp",),  # a volume of Docker's own; host paths are not mounted here
        init=True,
    )
    command = Runtime(("podman",), "test").run_command("textbatch-job-1", spec)
    assert command == [
        "podman", "run", "--name", "textbatch-job-1", "--pull", "never", "--network", "host",
        "--init", "--cpus", "4", "--memory", "64m", "--memory-swap", "64m", "--read-only",
        "--volume", "/tmp", "--env", "AWS_REGION",
        "localhost/textbatch-cpu:latest", "predict", "--model", "m",
    ]  # fmt: skip
    assert "us-east-1" not in command  # values come from the engine's environment


def test_a_container_that_cannot_start_is_retried_by_its_reason_rule() -> None:
    rules = [
        {"onReason": "CannotStartContainerError*", "action": "RETRY"},
        {"onExitCode": "*", "action": "EXIT"},
    ]
    cannot = f"{runtime.CANNOT_START}: the engine could not start the container"
    assert _action(rules, 125, None, cannot) == "RETRY"
    assert _action(rules, 125, None, None) == "EXIT"  # a host process has no container reason
