"""Alerts: failed Batch jobs, trigger errors and dead letters notify one encrypted SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from textbatch_contract import events as log_events
from textbatch_contract import jobs, review

# RejectedRowsAlarm: rejected rows over 15 minutes, as a share of the rows in, and how many at
# least (docs/operations.md, "Alarms")
REJECTED_ALARM_PERCENT = 1.0
REJECTED_ALARM_MIN_ROWS = 10


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
        job_logs: logs.ILogGroup,
        trigger_logs: logs.ILogGroup,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        rule_name = f"{prefix}-failed-jobs"
        # EventBridge may publish for this rule only (a name, not a reference: the key's policy
        # cannot refer to the rule, which refers to the topic, which refers to the key)
        rule_arn = Stack.of(self).format_arn(
            service="events", resource="rule", resource_name=rule_name
        )
        from_the_rule = {"ArnEquals": {"aws:SourceArn": rule_arn}}
        # A customer-managed key: EventBridge cannot publish to a topic under the AWS-managed key.
        key = kms.Key(self, "AlertsKey", enable_key_rotation=True, description=f"{prefix} alerts")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                resources=["*"],  # in a key policy: this key
                conditions=from_the_rule,
            )
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "AlertsTopic", topic_name=f"{prefix}-alerts", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions=from_the_rule,
            )
        )
        self.failed_jobs_rule = events.Rule(
            self,
            "FailedJobsRule",
            rule_name=rule_name,
            description="A textbatch job reached FAILED",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={
                    "status": ["FAILED"],
                    "jobQueue": [queue.job_queue_arn for queue in job_queues],
                },
            ),
            # not targets.SnsTopic: it would let EventBridge publish for any rule of any account
            targets=[TopicTarget(self.topic)],
        )
        # Metrics from the jobs' JSON lines (their names and keys: textbatch_contract.events).
        namespace = f"Textbatch/{prefix}"
        predicted = log_events.metric_filter(log_events.DONE, jobs.PREDICT.name)
        self.metrics = {
            name: self._metric_from_logs(job_logs, namespace, name, pattern, value, unit)
            for name, pattern, value, unit in [
                ("RowsProcessed", predicted, f"$.{log_events.ROWS_IN}", "Count"),
                ("RowsRejected", predicted, f"$.{log_events.ROWS_REJECTED}", "Count"),
                (
                    "JobDuration",
                    log_events.metric_filter(log_events.DONE),
                    f"$.{log_events.SECONDS}",
                    "Seconds",
                ),
                (
                    "ValidationAccuracy",
                    log_events.metric_filter(log_events.DONE, jobs.TRAIN.name),
                    f"$.{log_events.VALIDATION_ACCURACY}",
                    "None",
                ),
                ("JobErrors", log_events.metric_filter(log_events.FAILED), "1", "Count"),
                # one per file whose shift warning is high (textbatch.model.shift)
                (
                    "FilesShiftHigh",
                    log_events.metric_filter(review.SHIFT_EVENT)
                    + f' && $.{review.LEVEL} = "{review.HIGH}"',
                    "1",
                    "Count",
                ),
                (
                    "RowsToReview",
                    log_events.metric_filter(review.REVIEW_EVENT),
                    f"$.{review.ROWS_TO_REVIEW}",
                    "Count",
                ),
            ]
        }
        # Saved Logs Insights queries; operators replace BUCKET/KEY with the uploaded file.
        logs.QueryDefinition(
            self,
            "WhatHappenedToFileQuery",
            query_definition_name=f"{prefix}/what-happened-to-file",
            query_string=logs.QueryString(
                fields=[
                    "@timestamp",
                    "@logStream",
                    log_events.DECISION,
                    log_events.EVENT,
                    "reason",
                    "job_id",
                    "rows_in",
                    "message",
                ],
                filter_statements=['uri = "s3://BUCKET/KEY" or input = "s3://BUCKET/KEY"'],
                sort="@timestamp asc",
            ),
            log_groups=[trigger_logs, job_logs],
        )
        logs.QueryDefinition(
            self,
            "FailedJobsTodayQuery",
            query_definition_name=f"{prefix}/failed-jobs-today",
            query_string=logs.QueryString(
                fields=["@timestamp", "@logStream", "input", "error", "message", "hint"],
                filter_statements=[f'{log_events.EVENT} = "{log_events.FAILED}"'],
                sort="@timestamp desc",
            ),
            log_groups=[job_logs],
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
            # A share, not a count: one empty row in a file of thousands does not page; at
            # least REJECTED_ALARM_MIN_ROWS rejected and REJECTED_ALARM_PERCENT of the rows does.
            "RejectedRowsAlarm": cloudwatch.MathExpression(
                expression=(
                    f"IF(processed > 0 AND rejected >= {REJECTED_ALARM_MIN_ROWS}, "
                    "100 * rejected / processed, 0)"
                ),
                using_metrics={
                    "rejected": self.metrics["RowsRejected"].with_(period=Duration.minutes(15)),
                    "processed": self.metrics["RowsProcessed"].with_(period=Duration.minutes(15)),
                },
                label="Rejected rows (% of the rows in)",
                period=Duration.minutes(15),
            ),
            # a file unlike the model's training data: its confidences mean less
            "ShiftHighAlarm": self.metrics["FilesShiftHigh"],
        }
        thresholds = {"RejectedRowsAlarm": REJECTED_ALARM_PERCENT}
        self.alarms = {}
        for construct_id_, metric in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                construct_id_,
                metric=metric,
                threshold=thresholds.get(construct_id_, 1),
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms[construct_id_] = alarm

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=prefix)
        m = self.metrics
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Rows processed / rejected", left=[m["RowsProcessed"], m["RowsRejected"]]
            ),
            cloudwatch.GraphWidget(
                title="Job duration (s)",
                left=[m["JobDuration"], m["JobDuration"].with_(statistic="Maximum")],
            ),
            cloudwatch.GraphWidget(
                title="Validation accuracy of trained models", left=[m["ValidationAccuracy"]]
            ),
            cloudwatch.GraphWidget(
                title="Rows to review / files shifted (high)",
                left=[m["RowsToReview"]],
                right=[m["FilesShiftHigh"]],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Trigger invocations / errors",
                left=[trigger_function.metric_invocations(), trigger_function.metric_errors()],
            ),
            cloudwatch.GraphWidget(title="Job errors (from logs)", left=[m["JobErrors"]]),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values())),
        )

    def _metric_from_logs(
        self, group: logs.ILogGroup, namespace: str, name: str, pattern: str, value: str, unit: str
    ) -> cloudwatch.Metric:
        logs.MetricFilter(
            self,
            f"{name}Filter",
            log_group=group,
            metric_namespace=namespace,
            metric_name=name,
            filter_pattern=logs.FilterPattern.literal("{ " + pattern + " }"),
            metric_value=value,
            unit=cloudwatch.Unit(unit.upper()) if unit != "None" else cloudwatch.Unit.NONE,
        )
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            statistic="Average" if name == "ValidationAccuracy" else "Sum",
            period=Duration.minutes(5),
        )


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """The rule's SNS target; the topic's policy is the one written above, with its condition."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn)
