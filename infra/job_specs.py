"""The Batch job definitions as plain data: the CDK stack builds them from here, and the local
cloud (which cannot run CDK's Batch) reads the same specs, so the two never drift apart.

Commands use Batch parameter substitution (`Ref::name`); the trigger and `textbatch train
--submit` fill the parameters in.
"""

from __future__ import annotations

from dataclasses import dataclass

PREDICT_COMMAND = (
    "predict",
    "--model",
    "Ref::model",
    "--input",
    "Ref::input",
    "--input-version",
    "Ref::input_version",
    "--output",
    "Ref::output",
)
TRAIN_COMMAND = ("train", "--config", "Ref::config", "--data", "Ref::data", "--out", "Ref::out")


@dataclass(frozen=True)
class JobSpec:
    role: str  # "predict", "predict-cpu" or "train": the job definition is <prefix>-<role>
    image: str  # "gpu" or "cpu": batch_images/Dockerfile.<image>
    command: tuple[str, ...]
    gpus: int
    vcpus: int
    memory_mib: int
    timeout_setting: str  # the StageSettings field giving the timeout in minutes

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(arg[len("Ref::") :] for arg in self.command if arg.startswith("Ref::"))


# g4dn.xlarge: 4 vCPUs, 16 GiB, 1 T4; ECS keeps some memory for itself, hence 14 GiB.
JOB_SPECS = (
    JobSpec("predict", "gpu", PREDICT_COMMAND, gpus=1, vcpus=4, memory_mib=14336,
            timeout_setting="predict_timeout_minutes"),
    JobSpec("predict-cpu", "cpu", PREDICT_COMMAND, gpus=0, vcpus=4, memory_mib=7168,
            timeout_setting="predict_timeout_minutes"),
    JobSpec("train", "gpu", TRAIN_COMMAND, gpus=1, vcpus=4, memory_mib=14336,
            timeout_setting="train_timeout_minutes"),
)  # fmt: skip

# The jobs' temporary files (tempfile's default directory): a scratch volume on a read-only root
SCRATCH_PATH = "/tmp"

# Retry what the host or the Spot market did, never what the application did: Batch evaluates
# these in order and the first match wins.
RETRY_ON_STATUS_REASONS = ("Host EC2*",)  # instance terminated or Spot capacity reclaimed
RETRY_ON_REASONS = ("CannotPullContainerError*", "CannotStartContainerError*")
