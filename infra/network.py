"""The VPC that Batch instances run in: outbound only, S3 through a free gateway endpoint.

Instances must reach S3, ECR and CloudWatch Logs, and nothing may reach them. Two ways, per stage:
- nat_gateways = 0 (dev): public subnets, a security group with no inbound rule. Nothing is
  billed while idle, which matters for a system that is idle most of the day; no inbound path
  exists because the security group admits none.
- nat_gateways > 0 (prod): private subnets behind NAT gateways, so instances have no public
  address at all. A NAT gateway costs ~USD 33/month idle; interface endpoints for ECR (2), Logs,
  ECS (3) and STS would cost more (7 endpoints x 2 AZs x ~USD 7.3/month), so NAT it is.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import LOG_GROUP_KMS_REASON, skip_checkov


class Network(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        nat_gateways: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)]
        if nat_gateways:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                )
            )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=log_retention, removal_policy=removal_policy
        )
        skip_checkov(flow_logs, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
                )
            },
        )
        self.subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            if nat_gateways
            else ec2.SubnetType.PUBLIC
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "BatchInstances",
            vpc=self.vpc,
            description="Batch job instances: outbound only, no inbound rule",
            allow_all_outbound=True,
        )
