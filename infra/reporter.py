"""The failure reporter: on a file's job reaching FAILED (the alerts' EventBridge rule), a Lambda
writes the file's error report when Batch stopped the job before it could write one."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.functions import thin_function
from infra.nag import acknowledge, objects_of

HANDLER = "textbatch_reporter.handler.lambda_handler"


class FailureReporter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        predict_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        failed_jobs: events.Rule,
        dead_letters: sqs.IQueue,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.function, self.log_group = thin_function(
            self,
            "reporter",
            prefix=prefix,
            handler=HANDLER,
            dead_letters=dead_letters,
            log_retention=log_retention,
            removal_policy=removal_policy,
            layers=layers,
        )
        failed_jobs.add_target(targets.LambdaFunction(self.function, retry_attempts=2))
        # Exactly the calls the handler makes (tests compare the two).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[results_bucket.arn_for_objects("*")],
            )
        )
        # before it writes a report: the upload's current version (HeadObject without a
        # version id; ListBucket so that a deleted key reads as 404): a newer revision's
        # outcome is never written over (textbatch_contract.revisions)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[predict_bucket.arn_for_objects("*")]
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[predict_bucket.bucket_arn])
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["batch:DescribeJobs", "batch:ListJobs"], resources=["*"])
        )
        acknowledge(
            self.function,
            objects_of(predict_bucket),
            "Uploads are named by their users; the reporter reads only an upload's current "
            "version id (HeadObject), which S3 grants with s3:GetObject.",
        )
        acknowledge(
            self.function,
            objects_of(results_bucket),
            "Reports are written next to each file's results, under any prefix the input's "
            "folders give; the summaries and parts' plans it reads are there too.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-IAM5[Resource::*]",
            "batch:DescribeJobs and batch:ListJobs support no resource-level permissions.",
        )
