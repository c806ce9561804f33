"""AWS Batch: GPU and CPU compute environments (Spot first where the stage allows, on-demand
behind it), a GPU and a CPU job queue, the train/predict image and the job definitions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Size, Tags
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from textbatch_contract.jobs import IMAGE_TAG, NEUTRALISE_FORMULAS_ENV, VCPUS_ENV, WHY_ENV
from textbatch_contract.review import COMPARE_COLUMN_ENV
from textbatch_contract.stack import STAGE_ENV

from infra.job_specs import (
    JOB_SPECS,
    RETRY_ON_REASONS,
    RETRY_ON_STATUS_REASONS,
    SCRATCH_PATH,
    JobSpec,
)
from infra.nag import LOG_GROUP_KMS_REASON, acknowledge, skip_checkov
from infra.network import Network
from infra.settings import StageSettings

ROOT = Path(__file__).resolve().parent.parent
# the torch of the tests and of the GPU image, one version (the Makefile reads it too)
TORCH_VERSION = (ROOT / "batch_images" / "torch-version.txt").read_text().strip()


class BatchCompute(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        network: Network,
        job_roles: Mapping[str, iam.IRole],
        parameter_defaults: Mapping[str, Mapping[str, str]],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._network = network
        prefix = settings.prefix
        # Amazon Linux 2023 everywhere (Amazon Linux 2's support ended 2026-06-30, and Batch's
        # default for a compute environment without an image type is still ECS_AL2): the
        # NVIDIA variant for the GPU environments, the plain one for the CPU environments
        gpu_image = batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA)
        cpu_image = batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)
        # Every instance: IMDSv2 only, one network hop, so a container cannot reach the
        # instance's role through the metadata service (jobs get their own role from ECS).
        self.launch_template = ec2.LaunchTemplate(
            self,
            "InstanceLaunchTemplate",
            launch_template_name=f"{prefix}-batch-instances",
            require_imdsv2=True,
            http_put_response_hop_limit=1,
        )
        # A job that waits RUNNABLE because no instance can run it is cancelled after the
        # stage's limit; the failure reporter then writes its file's report with a hint.
        waiting = [
            batch.JobStateTimeLimitAction(
                max_time=Duration.minutes(settings.runnable_timeout_minutes),
                reason=reason,
                action=batch.JobStateTimeLimitActionsAction.CANCEL,
                state=batch.JobStateTimeLimitActionsState.RUNNABLE,
            )
            for reason in (
                batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY,
                batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE,
                batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT,
            )
        ]
        gpu_types = [ec2.InstanceType(t) for t in settings.gpu_instance_types]
        cpu_classes = [ec2.InstanceClass(c.upper()) for c in settings.cpu_instance_classes]
        self.gpu_queue = batch.JobQueue(
            self,
            "GpuJobQueue",
            job_queue_name=f"{prefix}-gpu",
            job_state_time_limit_actions=waiting,
            compute_environments=self._ordered(
                "Gpu",
                instance_types=gpu_types,
                images=[gpu_image],
                max_vcpus=settings.gpu_max_vcpus,
            ),
        )
        self.cpu_queue = batch.JobQueue(
            self,
            "CpuJobQueue",
            job_queue_name=f"{prefix}-cpu",
            job_state_time_limit_actions=waiting,
            compute_environments=self._ordered(
                "Cpu",
                instance_classes=cpu_classes,
                images=[cpu_image],
                max_vcpus=settings.cpu_max_vcpus,
            ),
        )
        self.log_group = logs.LogGroup(
            self,
            "JobLogs",
            log_group_name=f"/aws/batch/{prefix}-jobs",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        skip_checkov(self.log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        # The GPU image (CUDA torch, spaCy) for training and GPU predict jobs; the CPU image (no
        # torch) for split, merge and CPU predict jobs: a fresh instance pulls only what it runs.
        images = {
            kind: ecs.ContainerImage.from_asset(
                str(ROOT),
                file=f"batch_images/Dockerfile.{kind}",
                # `make images` fills batch_images/wheels/ here; in AWS pip reads PyPI
                exclude=["batch_images/wheels/*", "!batch_images/wheels/.keep"],
                # the torch the tests run, in the GPU image (its CUDA build there)
                build_args={"TORCH_VERSION": TORCH_VERSION} if kind == "gpu" else None,
            )
            for kind in ("gpu", "cpu")
        }
        # Plain names (the L2's job_definition_name is a token parsed out of the ARN).
        self.job_definition_names = {spec.role: f"{prefix}-{spec.role}" for spec in JOB_SPECS}
        self.job_definitions: dict[str, batch.EcsJobDefinition] = {
            spec.role: self._job_definition(
                spec,
                images[spec.image],
                job_roles[spec.role],
                parameter_defaults.get(spec.role, {}),
            )
            for spec in JOB_SPECS
        }

    def _ordered(self, kind: str, **props: object) -> list[batch.OrderedComputeEnvironment]:
        markets = ["Spot", "OnDemand"] if self._settings.use_spot else ["OnDemand"]
        return [
            batch.OrderedComputeEnvironment(
                compute_environment=self._environment(f"{kind}{market}", market == "Spot", **props),
                order=order,
            )
            for order, market in enumerate(markets, start=1)
        ]

    def _environment(
        self, construct_id: str, spot: bool, **props: object
    ) -> batch.IComputeEnvironment:
        environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            f"{construct_id}Environment",
            vpc=self._network.vpc,
            vpc_subnets=self._network.subnets,
            security_groups=[self._network.security_group],
            minv_cpus=0,  # scale to zero: no instance runs while no job waits
            maxv_cpus=props.pop("max_vcpus"),
            spot=spot,
            allocation_strategy=(
                batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
                if spot
                else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE
            ),
            use_optimal_instance_classes=False,
            launch_template=self.launch_template,
            update_to_latest_image_version=True,
            **props,
        )
        acknowledge(
            environment,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonEC2ContainerServiceforEC2Role]",
            "The instance role of Batch's ECS instances: the ECS agent needs exactly this AWS "
            "policy, which AWS keeps in step with the agent.",
        )
        return environment

    def _predict_environment(self) -> dict[str, str]:
        """The stage settings that the predict job definitions pass to the job (the split,
        part, merge and cluster jobs run on them too)."""
        s = self._settings
        return {
            **({NEUTRALISE_FORMULAS_ENV: "1"} if s.neutralise_formulas else {}),
            **({COMPARE_COLUMN_ENV: s.compare_column} if s.compare_column else {}),
            **({} if s.why_column else {WHY_ENV: "0"}),
        }

    def _job_definition(
        self,
        spec: JobSpec,
        image: ecs.ContainerImage,
        job_role: iam.IRole,
        parameters: Mapping[str, str],
    ) -> batch.EcsJobDefinition:
        construct_id = "".join(part.capitalize() for part in spec.role.split("-"))
        container = batch.EcsEc2ContainerDefinition(
            self,
            f"{construct_id}Container",
            image=image,
            command=list(spec.command),
            cpu=spec.vcpus,
            memory=Size.mebibytes(spec.memory_mib),
            gpu=spec.gpus or None,
            job_role=job_role,
            # nothing writes into the image: a job's temporary files go to a scratch volume
            # that Docker creates for the container and removes with it
            readonly_root_filesystem=True,
            volumes=[batch.EcsVolume.host(name="scratch", container_path=SCRATCH_PATH)],
            # an init as PID 1 passes Batch's SIGTERM on to the job: a signal that reaches
            # PID 1 itself before its handler is set would be dropped (then SIGKILL, 30 s on)
            linux_parameters=batch.LinuxParameters(
                self, f"{construct_id}Linux", init_process_enabled=True
            ),
            logging=ecs.LogDriver.aws_logs(stream_prefix=spec.role, log_group=self.log_group),
            # the job's vCPUs, which the predict job's workers follow (not the host's cores)
            environment={
                STAGE_ENV: self._settings.stage,
                VCPUS_ENV: str(spec.vcpus),
                **(self._predict_environment() if spec.role.startswith("predict") else {}),
            },
        )
        acknowledge(
            container,
            "AwsSolutions-IAM5[Resource::*]",
            "The execution role's ecr:GetAuthorizationToken supports no resource-level "
            "permission; its image pull actions are scoped to the asset repository.",
        )
        retries = [
            batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom(on_status_reason=r))
            for r in RETRY_ON_STATUS_REASONS
        ]
        retries += [
            batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom(on_reason=r))
            for r in RETRY_ON_REASONS
        ]
        retries.append(
            batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_exit_code="*"))
        )
        definition = batch.EcsJobDefinition(
            self,
            f"{construct_id}JobDefinition",
            job_definition_name=self.job_definition_names[spec.role],
            container=container,
            # the defaults of a job submitted without them, named by the job's declaration
            parameters=spec.job.submit_parameters(**parameters),
            retry_attempts=self._settings.job_attempts,
            retry_strategies=retries,
            timeout=Duration.minutes(getattr(self._settings, spec.timeout_setting)),
            propagate_tags=True,
        )
        Tags.of(definition).add(IMAGE_TAG, spec.image)
        return definition
