"""cdk-nag and checkov acknowledgments, each next to the resource it concerns and with its
reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

PACK = "AwsSolutions"
LOG_GROUP_KMS_REASON = (
    "Log lines hold file names, counts and messages, no row text; CloudWatch Logs encrypts "
    "them at rest with its own keys. A customer key per stage is an option (not yet offered)."
)
# CDK's own deploy-time functions (bucket notifications, the default security group's rules)
CDK_HANDLER_REASON = (
    "CDK's deploy-time handler: it runs once per deployment, called by CloudFormation; no "
    "event of a user reaches it."
)


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


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Accept one checkov finding (e.g. `CKV_AWS_117`) on the CloudFormation resource of
    `construct`, for `reason`: checkov reads `Metadata.checkov.skip` of the resource."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no resource"
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check, "comment": reason}]
    resource.add_metadata("checkov", metadata)
