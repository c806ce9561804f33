"""The Batch job definitions as plain data: which job each runs, on which image, with what
resources. The CDK stack (infra/compute.py) builds them from here; the local cloud runs what
the synthesized template holds.

Each definition's command and parameter names are its job's declaration in the contract
(textbatch_contract.jobs): `Ref::name` for each parameter, which the trigger and `textbatch
train --submit` fill in from the same declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

from textbatch_contract.jobs import PREDICT, TRAIN, BatchJob


@dataclass(frozen=True)
class JobSpec:
    role: str  # "predict", "predict-cpu" or "train": the job definition is <prefix>-<role>
    image: str  # "gpu" or "cpu": batch_images/Dockerfile.<image>
    job: BatchJob  # what it runs: its command line and parameters
    gpus: int
    vcpus: int
    memory_mib: int
    timeout_setting: str  # the StageSettings field giving the timeout in minutes

    @property
    def command(self) -> list[str]:
        return self.job.definition_command()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return self.job.parameter_names


# g4dn.xlarge: 4 vCPUs, 16 GiB, 1 T4; ECS keeps some memory for itself, hence 14 GiB.
JOB_SPECS = (
    JobSpec("predict", "gpu", PREDICT, gpus=1, vcpus=4, memory_mib=14336,
            timeout_setting="predict_timeout_minutes"),
    JobSpec("predict-cpu", "cpu", PREDICT, gpus=0, vcpus=4, memory_mib=7168,
            timeout_setting="predict_timeout_minutes"),
    JobSpec("train", "gpu", TRAIN, gpus=1, vcpus=4, memory_mib=14336,
            timeout_setting="train_timeout_minutes"),
    # the families that train without torch (nbsvm, knn), in the CPU image on the CPU queue
    JobSpec("train-cpu", "cpu", TRAIN, gpus=0, vcpus=4, memory_mib=7168,
            timeout_setting="train_timeout_minutes"),
)  # fmt: skip

# The jobs' temporary files (tempfile's default directory): a scratch volume on a read-only root
SCRATCH_PATH = "/tmp"

# Retry what the host or the Spot market did, never what the application did: Batch evaluates
# these in order and the first match wins.
RETRY_ON_STATUS_REASONS = ("Host EC2*",)  # instance terminated or Spot capacity reclaimed
RETRY_ON_REASONS = ("CannotPullContainerError*", "CannotStartContainerError*")
