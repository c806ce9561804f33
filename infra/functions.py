"""The project's Lambda functions: boto3-only packages from functions/, deployed as they are
(no bundling), each with its own log group, two asynchronous retries and a dead-letter queue,
and two layers: the contract (functions/contract: textbatch_contract, what the functions and
the jobs must agree on), a layer from an asset directory (its python/ folder is on the path),
and Powertools for AWS Lambda, the layer AWS publishes, of the version pip installs here."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from aws_cdk import CfnDynamicReference, CfnDynamicReferenceService, Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from textbatch_contract import FUNCTION_TIMEOUT_S

from infra.nag import LOG_GROUP_KMS_REASON, acknowledge, skip_checkov

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
POWERTOOLS_VERSION = version("aws-lambda-powertools")  # pinned in pyproject.toml


def powertools_parameter() -> str:
    """The public SSM parameter AWS keeps, in every region, with the ARN of the Powertools
    layer of one version, runtime and architecture."""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{POWERTOOLS_VERSION}"


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """`PowertoolsLayer`: the AWS-published layer, its ARN resolved at deploy time."""
    arn = CfnDynamicReference(CfnDynamicReferenceService.SSM, powertools_parameter())
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn.to_string())


def contract_layer(scope: Construct, *, prefix: str) -> lambda_.LayerVersion:
    """`ContractLayer`: textbatch_contract for every function of the stack."""
    return lambda_.LayerVersion(
        scope,
        "ContractLayer",
        layer_version_name=f"{prefix}-contract",
        code=lambda_.Code.from_asset(
            str(FUNCTIONS_DIR / "contract"), exclude=["**/__pycache__", "**/*.egg-info"]
        ),
        compatible_runtimes=[RUNTIME],
        description="textbatch_contract: names and paths the functions and the jobs share",
    )


# checkov's findings on the two functions, and why each stands
FUNCTION_CHECKOV_REASONS = {
    "CKV_AWS_116": "Failed asynchronous events go to the alarmed dead-letter queue through the "
    "function's on-failure destination (EventInvokeConfig), which also keeps the error; a "
    "DeadLetterConfig as well would send each failed event twice.",
    "CKV_AWS_115": "Reserved concurrency is taken from the account's pool, and a new account has "
    "10 in all, of which 10 must stay unreserved: the stack would not deploy there. Throttled "
    "asynchronous events are retried by Lambda for up to 6 hours (max_event_age).",
    "CKV_AWS_117": "The functions call only AWS APIs (Batch, DynamoDB, S3); in a VPC they would "
    "need a NAT gateway or an endpoint per service, and gain no isolation.",
    "CKV_AWS_173": "The environment holds queue, table and bucket names, no secrets; Lambda "
    "encrypts it at rest with its AWS-managed key.",
}


def thin_function(
    scope: Construct,
    name: str,
    *,
    prefix: str,
    handler: str,
    dead_letters: sqs.IQueue,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    layers: list[lambda_.ILayerVersion],
    environment: Mapping[str, str] | None = None,
) -> tuple[lambda_.Function, logs.LogGroup]:
    """`<Name>Function` (`<prefix>-<name>`, code from functions/<name>/) and `<Name>Logs` in
    `scope`."""
    title = name.capitalize()
    log_group = logs.LogGroup(
        scope,
        f"{title}Logs",
        log_group_name=f"/aws/lambda/{prefix}-{name}",
        retention=log_retention,
        removal_policy=removal_policy,
    )
    function = lambda_.Function(
        scope,
        f"{title}Function",
        function_name=f"{prefix}-{name}",
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=lambda_.Code.from_asset(
            str(FUNCTIONS_DIR / name), exclude=["**/__pycache__", "**/*.egg-info"]
        ),
        layers=layers,
        timeout=Duration.seconds(FUNCTION_TIMEOUT_S),
        memory_size=256,
        environment=dict(environment or {}),
        log_group=log_group,
        retry_attempts=2,
        max_event_age=Duration.hours(6),
        on_failure=destinations.SqsDestination(dead_letters),
    )
    for check, reason in FUNCTION_CHECKOV_REASONS.items():
        skip_checkov(function, check, reason)
    skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
    acknowledge(
        function,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "Grants only logs:CreateLogGroup, CreateLogStream and PutLogEvents for the function's "
        "own logs.",
    )
    return function, log_group
