"""The upload trigger: a Lambda for `*.csv` objects created in the predict bucket, its
idempotency table, and a dead-letter queue so that no event is lost when it fails."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from textbatch_contract import claims
from textbatch_contract import settings as trigger_settings

from infra.functions import thin_function
from infra.nag import acknowledge, objects_of, skip_checkov

HANDLER = "textbatch_trigger.handler.lambda_handler"
# S3's suffix filters are case-sensitive: every spelling of .csv (.csv, .CSV, .Csv, ...)
CSV_SUFFIXES = tuple("." + "".join(c) for c in itertools.product("cC", "sS", "vV"))


class UploadTrigger(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        predict_bucket: s3.IBucket,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "IdempotencyTable",
            table_name=f"{prefix}-submissions",
            partition_key=dynamodb.Attribute(name=claims.KEY, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=claims.EXPIRES_AT,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal_policy,
        )
        self.dead_letters = sqs.Queue(
            self,
            "TriggerDeadLetterQueue",
            queue_name=f"{prefix}-trigger-failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        skip_checkov(
            self.dead_letters,
            "CKV_AWS_27",
            "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check reads only "
            "KmsMasterKeyId.",
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the trigger's failed events.",
        )
        self.function, self.log_group = thin_function(
            self,
            "trigger",
            prefix=prefix,
            handler=HANDLER,
            environment={
                **environment,
                **trigger_settings.environment(idempotency_table=self.table.table_name),
            },
            dead_letters=self.dead_letters,
            log_retention=log_retention,
            removal_policy=removal_policy,
            layers=layers,
        )
        for suffix in CSV_SUFFIXES:
            predict_bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(self.function),
                s3.NotificationKeyFilter(suffix=suffix),
            )
        # Exactly the calls the handler makes (tests compare the two).
        self.table.grant(
            self.function,
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )

    def allow_reading_manifests(self, models_bucket: s3.IBucket) -> None:
        """The trigger reads a model's manifest (via models/latest.json) to choose the queue:
        s3:GetObject under models/ only, and the location's own manifest.json, which it reads
        first (a location may be a version directory; every call is evaluated against this
        policy: tests/e2e/test_permissions.py)."""
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    models_bucket.arn_for_objects("models/*"),
                    models_bucket.arn_for_objects("manifest.json"),
                ],
            )
        )
        acknowledge(
            self.function,
            objects_of(models_bucket, "models/*"),
            "Model versions are published under models/<version>/ with names chosen at training "
            "time; the trigger may only read them.",
        )

    def allow_finding_jobs(self) -> None:
        """A retry that takes over a dead invocation's claim looks for the job it may have
        submitted, by its deterministic name (ListJobs, which has no resource-level
        permissions: Resource "*")."""
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["batch:ListJobs"], resources=["*"])
        )
        acknowledge(
            self.function,
            "AwsSolutions-IAM5[Resource::*]",
            "batch:ListJobs supports no resource-level permissions.",
        )

    def allow_withdrawing_jobs(self) -> None:
        """A large file's split, array and merge are three SubmitJob calls: when a later one
        fails, the trigger terminates those it already submitted. TerminateJob names jobs by
        id only (no queue condition exists), so the resource is this account's jobs."""
        jobs = Stack.of(self).format_arn(
            service="batch",
            resource="job",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["batch:TerminateJob"], resources=[jobs])
        )
        acknowledge(
            self.function,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
            "<AWS::AccountId>:job/*]",
            "Batch job ids are only known after SubmitJob; TerminateJob has no condition key "
            "for the queue. The handler terminates only jobs it has just submitted.",
        )
