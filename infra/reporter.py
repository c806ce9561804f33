"""The failure reporter: on a file's job reaching FAILED (the alerts' EventBridge rule), a Lambda
writes the file's error report when Batch stopped the job before it could write one."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge, objects_of

FUNCTION_DIR = Path(__file__).resolve().parent.parent / "functions" / "reporter"
HANDLER = "textbatch_reporter.handler.lambda_handler"


class FailureReporter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        results_bucket: s3.IBucket,
        failed_jobs: events.Rule,
        dead_letters: sqs.IQueue,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "ReporterLogs",
            log_group_name=f"/aws/lambda/{prefix}-reporter",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.function = lambda_.Function(
            self,
            "ReporterFunction",
            function_name=f"{prefix}-reporter",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTION_DIR), exclude=["**/__pycache__"]),
            timeout=Duration.seconds(60),
            memory_size=256,
            log_group=self.log_group,
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(dead_letters),
        )
        acknowledge(
            self.function,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "Grants only logs:CreateLogGroup, CreateLogStream and PutLogEvents for the function's "
            "own logs.",
        )
        failed_jobs.add_target(targets.LambdaFunction(self.function, retry_attempts=2))
        # Exactly the calls the handler makes (tests compare the two).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[results_bucket.arn_for_objects("*")],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["batch:DescribeJobs", "batch:ListJobs"], resources=["*"])
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
