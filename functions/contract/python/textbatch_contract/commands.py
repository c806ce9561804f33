"""The Batch jobs' command lines: built by the trigger, read back by the failure reporter and
the operations commands, parsed by the `textbatch` CLI in the job's container. A single predict
job runs its job definition's command (`predict` with Ref::model/input/output parameters); a
large file's three jobs get these commands as container overrides."""

from __future__ import annotations

from typing import Any

PREDICT, SPLIT, PART, MERGE = "predict", "split", "predict-part", "merge"
CLUSTER = "cluster"
# The uploaded revision a job reads: the S3 version id the trigger got in the event, or LATEST
# (an unversioned bucket, a job submitted by hand). A Batch parameter, `Ref::input_version`.
INPUT_VERSION, LATEST = "input_version", "latest"
# The job definitions' environment variable with the job's vCPUs: Batch does not pin a container
# to its vCPUs on EC2 (they are CPU shares), so the jobs' workers would count the host's cores.
VCPUS_ENV = "TEXTBATCH_VCPUS"
# Set ("1") on the predict job definitions by the stage setting neutralise_formulas.
NEUTRALISE_FORMULAS_ENV = "TEXTBATCH_NEUTRALISE_FORMULAS"
# A job definition's tag naming which of the two Batch images it runs ("gpu" or "cpu"): the CDK
# app tags each definition, the local cloud runs the image it names
IMAGE_TAG = "textbatch:image"


def input_version(value: str | None) -> str | None:
    """The `--input-version` option's value as a version id to read (None: the latest)."""
    return None if value in (None, "", LATEST) else value


STEPS = (SPLIT, PART, MERGE)  # a large file's jobs, in order


PARTS_DIR = "_parts"  # under the results location
PARTS_EXPIRE_DAYS = 7  # a failed large file's parts: the results bucket's lifecycle rule


def parts_prefix(results_location: str, name: str) -> str:
    """Where a large file's parts, their outputs and its plan live (removed after the merge;
    a failed file's expire with the results bucket's lifecycle rule)."""
    return f"{results_location.rstrip('/')}/{PARTS_DIR}/{name}/"


def split_command(
    *, input_uri: str, version: str | None, parts: str, count: int, output: str
) -> list[str]:
    return [
        SPLIT,
        "--input",
        input_uri,
        "--input-version",
        version or LATEST,
        "--parts",
        parts,
        "--count",
        str(count),
        "--output",
        output,
    ]


def part_command(*, model: str, parts: str, output: str) -> list[str]:
    return [PART, "--model", model, "--parts", parts, "--output", output]


def merge_command(*, parts: str, output: str) -> list[str]:
    return [MERGE, "--parts", parts, "--output", output]


def cluster_command(*, input_uri: str, version: str | None, output: str) -> list[str]:
    """The cluster job of an upload under the stage's cluster prefix (its count: a range)."""
    return [CLUSTER, "--input", input_uri, "--input-version", version or LATEST, "--output", output]


def command_of(job: dict[str, Any]) -> list[str]:
    """A described Batch job's command (its container's, overrides applied)."""
    return list(job.get("container", {}).get("command") or [])


def step_of(job: dict[str, Any]) -> str:
    """`predict`, `split`, `predict-part`, `merge` (or `train`, ...): the command's verb."""
    command = command_of(job)
    return command[0] if command else PREDICT


def option_of(job: dict[str, Any], name: str) -> str | None:
    """The value of `--name` in a described job's command, if it has one."""
    command = command_of(job)
    flag = f"--{name}"
    return command[command.index(flag) + 1] if flag in command[:-1] else None
