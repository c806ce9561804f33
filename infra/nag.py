"""cdk-nag acknowledgments, each next to the resource it concerns and with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Accept one cdk-nag finding (e.g. `AwsSolutions-IAM5[Resource::*]`) on `construct` and
    everything below it, for `reason`."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{finding}", reason=reason))


def objects_of(bucket: s3.IBucket, pattern: str = "*") -> str:
    """The IAM5 finding for a policy on the objects of `bucket` matching `pattern`
    (`<Logical.Arn>/*` by default)."""
    stack = Stack.of(bucket)
    logical_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{pattern}]"
