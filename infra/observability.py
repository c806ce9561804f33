"""Alerts: failed Batch jobs, trigger errors and dead letters notify one encrypted SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        job_queues: Sequence[batch.IJobQueue],
        trigger_function: lambda_.IFunction,
        dead_letters: sqs.IQueue,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key: EventBridge cannot publish to a topic under the AWS-managed key.
        key = kms.Key(self, "AlertsKey", enable_key_rotation=True, description=f"{prefix} alerts")
        key.grant_encrypt_decrypt(iam.ServicePrincipal("events.amazonaws.com"))
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "AlertsTopic", topic_name=f"{prefix}-alerts", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.failed_jobs_rule = events.Rule(
            self,
            "FailedJobsRule",
            rule_name=f"{prefix}-failed-jobs",
            description="A textbatch job reached FAILED",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={
                    "status": ["FAILED"],
                    "jobQueue": [queue.job_queue_arn for queue in job_queues],
                },
            ),
            targets=[targets.SnsTopic(self.topic)],
        )
        action = cw_actions.SnsAction(self.topic)
        alarms = {
            "TriggerErrorsAlarm": trigger_function.metric_errors(period=Duration.minutes(5)),
            "DeadLettersAlarm": dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5)
            ),
            "FailedJobsAlarm": cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="TriggeredRules",
                dimensions_map={"RuleName": self.failed_jobs_rule.rule_name},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
        }
        self.alarms = {}
        for construct_id_, metric in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                construct_id_,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms[construct_id_] = alarm
