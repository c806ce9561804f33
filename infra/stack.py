"""The textbatch stack: composes storage, network, Batch, trigger and alerts; grants each role
only what it needs; outputs what a user needs next."""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnResource, Environment, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct
from textbatch_contract import jobs
from textbatch_contract import settings as trigger_settings
from textbatch_contract import stack as stack_outputs
from textbatch_contract.outputs import ERROR_SUFFIX

from infra.compute import BatchCompute
from infra.functions import contract_layer, powertools_layer
from infra.nag import CDK_HANDLER_REASON, acknowledge, objects_of, skip_checkov
from infra.network import Network
from infra.observability import Observability
from infra.reporter import FailureReporter
from infra.settings import StageSettings
from infra.storage import Storage
from infra.trigger import UploadTrigger


class TextbatchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings) -> None:
        env = (
            Environment(account=settings.account, region=settings.region)
            if settings.account or settings.region
            else None
        )
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=f"textbatch batch text classification ({settings.stage})",
        )
        prefix = settings.prefix
        removal = RemovalPolicy.RETAIN if settings.retain else RemovalPolicy.DESTROY
        retention = logs.RetentionDays(_retention_name(settings.log_retention_days))

        storage = Storage(self, "Storage", prefix=prefix, retain=settings.retain)
        network = Network(
            self,
            "Network",
            nat_gateways=settings.nat_gateways,
            log_retention=retention,
            removal_policy=removal,
        )

        predict_role = _job_role(self, "PredictJobRole", f"{prefix} predict jobs")
        # the jobs read the uploaded revision (GetObject/HeadObject with a VersionId is
        # s3:GetObjectVersion) and the key's current version (no VersionId: s3:GetObject, and
        # ListBucket so that a deleted key reads as 404, not 403)
        _allow(predict_role, storage.predict, read=True, read_versions=True, list_=True)
        _allow(predict_role, storage.models, read=True, list_=True)
        # a file's outcome objects are read (their ETags) before they are written or removed
        # under a condition (textbatch_contract.revisions)
        _allow(predict_role, storage.results, read=True, write=True)
        _allow_parts(predict_role, storage.results)
        train_role = _job_role(self, "TrainJobRole", f"{prefix} train jobs")
        _allow(train_role, storage.training, read=True)
        _allow(train_role, storage.config, read=True)
        _allow(train_role, storage.models, read=True, write=True, list_=True)

        models = f"s3://{storage.models.bucket_name}/"
        model_location = models + (
            f"models/{settings.model_version}/" if settings.model_version else ""
        )
        results = f"s3://{storage.results.bucket_name}/"
        predict_defaults = {
            jobs.MODEL.name: model_location,
            jobs.OUTPUT.name: results,
            jobs.INPUT_VERSION.name: jobs.LATEST,  # a job submitted by hand reads the latest
        }
        train_defaults = {
            jobs.CONFIG.name: f"s3://{storage.config.bucket_name}/config.json",
            jobs.OUT.name: models,
            jobs.PROMOTE.name: "auto",
        }
        compute = BatchCompute(
            self,
            "Batch",
            settings=settings,
            network=network,
            job_roles={
                "predict": predict_role,
                "predict-cpu": predict_role,
                "train": train_role,
                "train-cpu": train_role,
            },
            parameter_defaults={
                "predict": predict_defaults,
                "predict-cpu": predict_defaults,
                "train": train_defaults,
                "train-cpu": train_defaults,
            },
            log_retention=retention,
            removal_policy=removal,
        )
        layers = [contract_layer(self, prefix=prefix), powertools_layer(self)]
        trigger = UploadTrigger(
            self,
            "Trigger",
            prefix=prefix,
            layers=layers,
            predict_bucket=storage.predict,
            environment=trigger_settings.environment(
                gpu_job_queue=compute.gpu_queue.job_queue_arn,
                gpu_job_definition=compute.job_definition_names["predict"],
                cpu_job_queue=compute.cpu_queue.job_queue_arn,
                cpu_job_definition=compute.job_definition_names["predict-cpu"],
                predict_queue=settings.predict_queue,
                split_threshold_bytes=str(settings.split_threshold_bytes),
                part_bytes=str(settings.part_bytes),
                cluster_prefix=settings.cluster_prefix,
                results_location=results,
                model_location=model_location,
            ),
            log_retention=retention,
            removal_policy=removal,
        )
        compute.job_definitions["predict"].grant_submit_job(
            trigger.function.role, compute.gpu_queue
        )
        compute.job_definitions["predict-cpu"].grant_submit_job(
            trigger.function.role, compute.cpu_queue
        )
        trigger.allow_reading_manifests(storage.models)
        trigger.allow_withdrawing_jobs()
        trigger.allow_finding_jobs()
        # CDK's own deploy-time functions: the checks for event-driven functions do not apply
        for resource in self.node.find_all():
            if (
                isinstance(resource, CfnResource)
                and resource.cfn_resource_type == "AWS::Lambda::Function"
                and not resource.node.path.startswith(
                    (trigger.node.path, f"{self.node.path}/Reporter")
                )
            ):
                for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                    skip_checkov(resource, check, CDK_HANDLER_REASON)
        # CDK adds one stack-level function that writes bucket notification configurations.
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's deploy-time handler for S3 notifications: logs permissions only.",
                )
        alerts = Observability(
            self,
            "Alerts",
            prefix=prefix,
            job_queues=[compute.gpu_queue, compute.cpu_queue],
            trigger_function=trigger.function,
            dead_letters=trigger.dead_letters,
            job_logs=compute.log_group,
            trigger_logs=trigger.log_group,
            alarm_email=settings.alarm_email,
        )
        reporter = FailureReporter(
            self,
            "Reporter",
            prefix=prefix,
            layers=layers,
            predict_bucket=storage.predict,
            results_bucket=storage.results,
            failed_jobs=alerts.failed_jobs_rule,
            dead_letters=trigger.dead_letters,
            log_retention=retention,
            removal_policy=removal,
        )

        # the trigger's settings, read back by `textbatch submit` (textbatch_contract.settings)
        outputs = {
            trigger_settings.STACK_OUTPUTS[field]: value
            for field, value in {
                "gpu_job_queue": compute.gpu_queue.job_queue_name,
                "gpu_job_definition": compute.job_definition_names["predict"],
                "cpu_job_queue": compute.cpu_queue.job_queue_name,
                "cpu_job_definition": compute.job_definition_names["predict-cpu"],
                "predict_queue": settings.predict_queue,
                "split_threshold_bytes": str(settings.split_threshold_bytes),
                "part_bytes": str(settings.part_bytes),
                "cluster_prefix": settings.cluster_prefix,
                "idempotency_table": trigger.table.table_name,
                "results_location": results,
                "model_location": model_location,
            }.items()
        }
        outputs |= {
            stack_outputs.PREDICT_BUCKET: storage.predict.bucket_name,
            stack_outputs.RESULTS_BUCKET: storage.results.bucket_name,
            stack_outputs.TRAINING_BUCKET: storage.training.bucket_name,
            stack_outputs.MODELS_BUCKET: storage.models.bucket_name,
            stack_outputs.CONFIG_BUCKET: storage.config.bucket_name,
            stack_outputs.TRAIN_JOB_DEFINITION: compute.job_definition_names["train"],
            stack_outputs.TRAIN_CPU_JOB_DEFINITION: compute.job_definition_names["train-cpu"],
            stack_outputs.TRAIN_QUEUE: settings.train_queue,
            stack_outputs.JOB_LOG_GROUP: compute.log_group.log_group_name,
            stack_outputs.TRIGGER_LOG_GROUP: trigger.log_group.log_group_name,
            stack_outputs.TRIGGER_FUNCTION: trigger.function.function_name,
            stack_outputs.REPORTER_FUNCTION: reporter.function.function_name,
            stack_outputs.REPORTER_LOG_GROUP: reporter.log_group.log_group_name,
            stack_outputs.TRIGGER_DEAD_LETTER_QUEUE: trigger.dead_letters.queue_url,
            stack_outputs.ALERTS_TOPIC: alerts.topic.topic_arn,
            stack_outputs.DASHBOARD: alerts.dashboard.dashboard_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)


def _job_role(scope: Construct, construct_id: str, description: str) -> iam.Role:
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description=description,
    )


def _allow(
    role: iam.Role,
    bucket: s3.IBucket,
    *,
    read: bool = False,
    read_versions: bool = False,
    write: bool = False,
    list_: bool = False,
) -> None:
    """Exactly the S3 actions the jobs use (grant_read/grant_put would add wildcard actions such
    as s3:GetObject* and s3:List*). ListBucket lets a missing key read as 404, not 403;
    read_versions: reads of a given version (s3:GetObjectVersion)."""
    actions = (
        (["s3:GetObject"] if read else [])
        + (["s3:GetObjectVersion"] if read_versions else [])
        + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects("*")])
    )
    if list_:
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
    acknowledge(
        role,
        objects_of(bucket),
        f"Object actions on any key of {bucket.node.id}: users choose the keys when they upload, "
        "so no narrower resource can be known in advance.",
    )


def _retention_name(days: int) -> str:
    names = {1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
             30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 180: "SIX_MONTHS",
             365: "ONE_YEAR", 731: "TWO_YEARS", 1827: "FIVE_YEARS", 3653: "TEN_YEARS"}  # fmt: skip
    if days not in names:
        raise ValueError(f"log_retention_days must be one of {sorted(names)}, not {days}")
    return names[days]


def _allow_parts(role: iam.Role, results: s3.IBucket) -> None:
    """A large file's parts live under _parts/ in the results bucket: the split job writes
    them, the array children read them, the merge job lists and removes them."""
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:DeleteObject"],
            resources=[results.arn_for_objects(jobs.PARTS_PATTERN)],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[results.bucket_arn])
    )
    # a job that succeeds removes an earlier revision's error report beside its result
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:DeleteObject"], resources=[results.arn_for_objects(f"*{ERROR_SUFFIX}")]
        )
    )
    acknowledge(
        role,
        objects_of(results, jobs.PARTS_PATTERN),
        "Part objects are named per uploaded file at run time, under the _parts/ prefix.",
    )
    acknowledge(
        role,
        objects_of(results, f"*{ERROR_SUFFIX}"),
        "Error reports are named after the uploaded file at run time; only they can be deleted.",
    )
