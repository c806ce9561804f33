"""Find a deployed stage's resources from its CloudFormation outputs (no names to remember)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from textbatch_contract.stack import STAGE_ENV, stack_name

from textbatch.errors import CloudError


class DeploymentError(CloudError):
    """The stack of a stage cannot be found or lacks an output."""


def default_stage() -> str:
    """TEXTBATCH_STAGE (set by `textbatch local env` to `local`), else dev."""
    return os.environ.get(STAGE_ENV, "dev")


@dataclass(frozen=True)
class Deployment:
    stack: str
    outputs: dict[str, str]

    @classmethod
    def find(cls, stage: str, cloudformation: Any) -> Deployment:
        from botocore.exceptions import BotoCoreError, ClientError

        name = stack_name(stage)
        try:
            [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            raise DeploymentError(
                f"stack {name} not found: {exc.response['Error'].get('Message', exc)}",
                hint="deploy it with `npx cdk deploy -c stage=...`; check the region and account",
            ) from exc
        except BotoCoreError as exc:
            raise DeploymentError(
                f"cannot look up stack {name}: {exc}", hint="check credentials and region"
            ) from exc
        return cls(name, {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise DeploymentError(
                f"stack {self.stack} has no output {key}",
                hint="redeploy it with this version of textbatch",
            )
        return self.outputs[key]
