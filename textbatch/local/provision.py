"""Create the local stage's resources on the emulators, from its synthesized template.

- Through the emulator's CloudFormation (moto, or LocalStack): the buckets, their policies, the
  SQS queues and the log groups, exactly as synthesized, plus the one resource that exists only
  locally: the queue that receives the predict bucket's S3 notifications for the event relay.
- On moto, with boto3, from the template's own properties: the DynamoDB table (LocalStack's
  needs a download) and the Batch compute environments, job queues and job definitions (Batch
  is not in LocalStack's community edition).
- Not created: IAM, networking, KMS, SNS, alarms and Lambda (the relay calls the handler with
  the function's environment, resolved from the template).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from textbatch_contract.jobs import IMAGE_TAG
from textbatch_contract.stack import stack_name

from textbatch.local.images import IMAGES
from textbatch.local.template import STAGE, Resolver

STACK = stack_name(STAGE)
EVENTS_QUEUE = "PredictEventsQueue"
VIA_CLOUDFORMATION = (
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
)
TRIGGER_FUNCTION_OUTPUT = "TriggerFunction"


@dataclass(frozen=True)
class Endpoints:
    default: str  # every service but the two below (moto, or LocalStack)
    moto: str  # Batch and DynamoDB
    region: str = "us-east-1"

    def environment(self) -> dict[str, str]:
        """Standard AWS configuration that points any SDK or the AWS CLI at the local cloud."""
        env = {
            "AWS_ENDPOINT_URL": self.default,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        if self.moto != self.default:
            env["AWS_ENDPOINT_URL_BATCH"] = self.moto
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.moto
        return env


@dataclass(frozen=True)
class LocalCloud:
    endpoints: Endpoints
    account: str
    outputs: dict[str, str]  # the local stack's outputs, as a deployed stack's
    trigger_environment: dict[str, str]
    trigger_function: str
    events_queue_url: str
    dead_letter_queue_url: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LocalCloud:
        raw = json.loads(text)
        return cls(**{**raw, "endpoints": Endpoints(**raw["endpoints"])})


def provision(template: dict[str, Any], endpoints: Endpoints, clients: Any) -> LocalCloud:
    """Create everything; `clients(service)` returns a boto3 client at the right endpoint."""
    account = clients("sts").get_caller_identity()["Account"]
    refs, attributes = _deploy_stack(template, clients)
    resolver = Resolver(template, account, endpoints.region, refs, attributes)
    _create_table(resolver, clients("dynamodb"))
    _create_batch(resolver, clients("batch"), clients("iam"), account)
    _fill_in_the_rest(resolver, account, endpoints.region)
    _apply_skipped_bucket_policies(resolver, clients("s3"))
    _subscribe_events_queue(resolver, clients("s3"))

    outputs = {k: str(resolver.resolve(v["Value"])) for k, v in template["Outputs"].items()}
    [function] = [
        f
        for f in resolver.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == outputs[TRIGGER_FUNCTION_OUTPUT]
    ]
    trigger_environment = resolver.resolve(function["Properties"]["Environment"]["Variables"])
    [dead_letters] = [k for k in resolver.resources("AWS::SQS::Queue") if k != EVENTS_QUEUE]
    return LocalCloud(
        endpoints=endpoints,
        account=account,
        outputs=outputs,
        trigger_environment=trigger_environment,
        trigger_function=outputs[TRIGGER_FUNCTION_OUTPUT],
        events_queue_url=refs[EVENTS_QUEUE],
        dead_letter_queue_url=refs[dead_letters],
    )


def _deploy_stack(template: dict[str, Any], clients: Any) -> tuple[dict[str, str], dict]:
    """The subset of the template CloudFormation can take here, deployed as the local stack.
    Returns what Ref and Fn::GetAtt give for its resources."""
    resources = {
        logical: {k: v for k, v in resource.items() if k in ("Type", "Properties", "DependsOn")}
        for logical, resource in template["Resources"].items()
        if resource["Type"] in VIA_CLOUDFORMATION
    }
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [
                d for d in ([depends] if isinstance(depends, str) else depends) if d in resources
            ]
            resource["DependsOn"] = kept
            if not kept:
                del resource["DependsOn"]
    for resource in resources.values():
        if resource["Type"] == "AWS::S3::BucketPolicy":
            document = resource["Properties"]["PolicyDocument"]
            # Grants to roles that do not exist locally (e.g. CDK's auto-delete provider) go.
            document["Statement"] = [
                st for st in document["Statement"] if _references(st) <= set(resources)
            ]
    resources[EVENTS_QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"{STAGE}-predict-events", "VisibilityTimeout": 120},
    }
    cloudformation = clients("cloudformation")
    remove_stack(clients)  # left over by a local cloud that did not shut down
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps({"Resources": resources}))
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    refs, attributes = {}, {}
    for item in cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]:
        if not item.get("LogicalResourceId") or not item.get("PhysicalResourceId"):
            continue  # a type this emulator's CloudFormation skipped
        logical, physical = item["LogicalResourceId"], item["PhysicalResourceId"]
        refs[logical] = physical
        kind = item["ResourceType"]
        if kind == "AWS::S3::Bucket":
            attributes[(logical, "Arn")] = f"arn:aws:s3:::{physical}"
        elif kind == "AWS::SQS::Queue":
            arn = clients("sqs").get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"]
            )
            attributes[(logical, "Arn")] = arn["Attributes"]["QueueArn"]
            attributes[(logical, "QueueName")] = physical.rsplit("/", 1)[-1]
        elif kind == "AWS::Logs::LogGroup":
            attributes[(logical, "Arn")] = f"arn:aws:logs:::log-group:{physical}:*"
    return refs, attributes


def _apply_skipped_bucket_policies(resolver: Resolver, s3: Any) -> None:
    """moto's CloudFormation skips AWS::S3::BucketPolicy; apply those through the S3 API."""
    for logical, policy in resolver.resources("AWS::S3::BucketPolicy").items():
        if logical not in resolver.refs:
            props = resolver.resolve(policy["Properties"])
            s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))


def remove_stack(clients: Any) -> None:
    """Delete the local stack, emptying its buckets first, if it exists."""
    cloudformation = clients("cloudformation")
    try:
        resources = cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]
    except cloudformation.exceptions.ClientError:
        return
    s3 = clients("s3")
    for item in resources:
        if item.get("ResourceType") == "AWS::S3::Bucket" and item.get("PhysicalResourceId"):
            bucket = item["PhysicalResourceId"]
            with contextlib.suppress(s3.exceptions.NoSuchBucket):
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                    for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                        s3.delete_object(
                            Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"]
                        )
    cloudformation.delete_stack(StackName=STACK)
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )


def _references(value: Any) -> set[str]:
    """Logical ids a template fragment refers to through Ref or Fn::GetAtt."""
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
        found.add(value["Ref"])
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        found.add(target[0] if isinstance(target, list) else target.split(".")[0])
    return found.union(*(_references(v) for v in value.values()))


def _create_table(resolver: Resolver, dynamodb: Any) -> None:
    for logical, table in resolver.resources("AWS::DynamoDB::GlobalTable").items():
        props = resolver.resolve(table["Properties"])
        dynamodb.create_table(
            TableName=props["TableName"],
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
        resolver.refs[logical] = props["TableName"]


def _create_batch(resolver: Resolver, batch: Any, iam: Any, account: str) -> None:
    service_role = iam.create_role(
        RoleName=f"{STAGE}-batch-service", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    for logical in resolver.resources("AWS::Batch::ComputeEnvironment"):
        # Unmanaged: the local job executor is the compute.
        arn = batch.create_compute_environment(
            computeEnvironmentName=f"{STAGE}-{logical}"[:128],
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=service_role,
        )["computeEnvironmentArn"]
        resolver.refs[logical] = arn
        resolver.attributes[(logical, "ComputeEnvironmentArn")] = arn
    for logical, queue in resolver.resources("AWS::Batch::JobQueue").items():
        props = resolver.resolve(queue["Properties"])
        arn = batch.create_job_queue(
            jobQueueName=props["JobQueueName"],
            state="ENABLED",
            priority=props.get("Priority", 1),
            computeEnvironmentOrder=[
                {"order": o["Order"], "computeEnvironment": o["ComputeEnvironment"]}
                for o in props["ComputeEnvironmentOrder"]
            ],
        )["jobQueueArn"]
        resolver.refs[logical] = arn
        resolver.attributes[(logical, "JobQueueArn")] = arn
    for logical in resolver.resources("AWS::IAM::Role"):
        resolver.attributes[(logical, "Arn")] = f"arn:aws:iam::{account}:role/{STAGE}-{logical}"
    for logical, definition in resolver.resources("AWS::Batch::JobDefinition").items():
        props = resolver.resolve(definition["Properties"])
        container = props["ContainerProperties"]
        arn = batch.register_job_definition(
            jobDefinitionName=props["JobDefinitionName"],
            type="container",
            parameters=props.get("Parameters", {}),
            retryStrategy={
                "attempts": props["RetryStrategy"]["Attempts"],
                "evaluateOnExit": _api_shape(props["RetryStrategy"]["EvaluateOnExit"]),
            },
            timeout={"attemptDurationSeconds": props["Timeout"]["AttemptDurationSeconds"]},
            propagateTags=props.get("PropagateTags", False),
            containerProperties={
                # the image that `make images` built for the role the definition's tag names
                "image": IMAGES[props["Tags"][IMAGE_TAG]],
                "command": container["Command"],
                "readonlyRootFilesystem": container.get("ReadonlyRootFilesystem", False),
                "volumes": _api_shape(container.get("Volumes", [])),
                "mountPoints": _api_shape(container.get("MountPoints", [])),
                "linuxParameters": _api_shape(container.get("LinuxParameters", {})),
                "jobRoleArn": container["JobRoleArn"],
                "environment": [
                    {"name": e["Name"], "value": e["Value"]}
                    for e in container.get("Environment", [])
                ],
                "resourceRequirements": [
                    {"type": r["Type"], "value": r["Value"]}
                    for r in container["ResourceRequirements"]
                ],
                "logConfiguration": {
                    "logDriver": container["LogConfiguration"]["LogDriver"],
                    "options": container["LogConfiguration"].get("Options", {}),
                },
            },
        )["jobDefinitionArn"]
        resolver.refs[logical] = arn


def _api_shape(value: Any) -> Any:
    """CloudFormation's property names as the Batch API spells them (Volumes -> volumes)."""
    if isinstance(value, dict):
        return {k[0].lower() + k[1:]: _api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    return value


def _fill_in_the_rest(resolver: Resolver, account: str, region: str) -> None:
    """Names and ARNs of the resources the local cloud does not create, as AWS would give them."""
    for logical, resource in resolver.template["Resources"].items():
        if logical in resolver.refs:
            continue
        props = resource.get("Properties", {})
        name = next(
            (
                props[k]
                for k in ("FunctionName", "TopicName", "RoleName")
                if isinstance(props.get(k), str)
            ),
            f"{STAGE}-{logical}",
        )
        resolver.refs[logical] = name
        resolver.attributes.setdefault((logical, "Arn"), f"arn:aws:local:{region}:{account}:{name}")


def _subscribe_events_queue(resolver: Resolver, s3: Any) -> None:
    """The predict bucket notifies the events queue, with the filters the Lambda gets in AWS."""
    queue_arn = resolver.attributes[(EVENTS_QUEUE, "Arn")]
    for notification in resolver.resources("Custom::S3BucketNotifications").values():
        props = notification["Properties"]
        bucket = resolver.resolve(props["BucketName"])
        configs = props["NotificationConfiguration"]["LambdaFunctionConfigurations"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": queue_arn, "Events": c["Events"], "Filter": c["Filter"]}
                    for c in configs
                ]
            },
        )
