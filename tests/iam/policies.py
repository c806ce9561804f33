"""Every recorded AWS call, as AWS would authorise it, against a synthesized template.

A call (textbatch_contract.calls: component, service, operation, parameters) becomes the IAM
request(s) the Service Authorization Reference defines for it, made by the role that makes it
in AWS; `evaluate` hands each request, with that role's identity policies and the resource's
policy (the bucket policy), to @cloud-copilot/iam-simulate (tests/iam/simulate.cjs), whose
iam-data package checks the action and the resource's type against the reference.

The mapping of API operations to actions is written here from the reference, where it is not
the operation's own name (S3's):
- GetObject / HeadObject: s3:GetObject; with a VersionId s3:GetObjectVersion ("The
  s3:GetObject permission is not required in this scenario").
- PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload: s3:PutObject;
  UploadPartCopy and CopyObject: s3:PutObject on the target and s3:GetObject(Version) on the
  source.
- DeleteObject: s3:DeleteObject (s3:DeleteObjectVersion with a VersionId); with If-Match also
  s3:GetObject (the User Guide's "Enforce conditional deletes"); DeleteObjects: s3:DeleteObject
  per key.
- ListObjectsV2 / ListObjects: s3:ListBucket on the bucket (s3:prefix in the context);
  ListObjectVersions: s3:ListBucketVersions.
- Batch: SubmitJob on its job queue and its job definition; TerminateJob on the job;
  DescribeJobs and ListJobs on "*". DynamoDB item operations on the table.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIMULATE = Path(__file__).with_name("simulate.cjs")
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class Request:
    call: dict[str, Any]  # the recorded call
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _copy_source(source: Any) -> tuple[str, str, str | None]:
    if isinstance(source, dict):
        return source["Bucket"], source["Key"], source.get("VersionId")
    path, _, query = str(source).lstrip("/").partition("?versionId=")
    bucket, _, key = path.partition("/")
    return bucket, key, query or None


S3_OBJECT_WRITES = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")


def requests_for(call: dict[str, Any], names: Names) -> list[Request]:
    """The IAM requests one recorded call makes (names: the deployment's resources)."""
    service, operation = call["service"], call["operation"]
    if service == "s3":
        bucket, key = call.get("Bucket", ""), call.get("Key", "")
        read = "s3:GetObjectVersion" if call.get("VersionId") else "s3:GetObject"
        if operation in ("GetObject", "HeadObject"):
            return [Request(call, read, _object(bucket, key))]
        if operation in S3_OBJECT_WRITES:
            return [Request(call, "s3:PutObject", _object(bucket, key))]
        if operation in ("UploadPartCopy", "CopyObject"):
            source, source_key, version = _copy_source(call["CopySource"])
            action = "s3:GetObjectVersion" if version else "s3:GetObject"
            return [
                Request(call, "s3:PutObject", _object(bucket, key)),
                Request(call, action, _object(source, source_key)),
            ]
        if operation == "AbortMultipartUpload":
            return [Request(call, "s3:AbortMultipartUpload", _object(bucket, key))]
        if operation == "DeleteObject":
            action = "s3:DeleteObjectVersion" if call.get("VersionId") else "s3:DeleteObject"
            found = [Request(call, action, _object(bucket, key))]
            if call.get("IfMatch"):
                found.append(Request(call, "s3:GetObject", _object(bucket, key)))
            return found
        if operation == "DeleteObjects":
            return [Request(call, "s3:DeleteObject", _object(bucket, k)) for k in call["Delete"]]
        if operation in ("ListObjectsV2", "ListObjects"):
            context = {"s3:prefix": call.get("Prefix", "")}
            return [Request(call, "s3:ListBucket", f"arn:aws:s3:::{bucket}", context)]
        if operation == "ListObjectVersions":
            return [Request(call, "s3:ListBucketVersions", f"arn:aws:s3:::{bucket}")]
    if service == "batch":
        if operation == "SubmitJob":
            return [
                Request(call, "batch:SubmitJob", names.job_queue_arn(call["jobQueue"])),
                Request(call, "batch:SubmitJob", names.job_definition_arn(call["jobDefinition"])),
            ]
        if operation == "TerminateJob":
            job = call["jobId"]
            return [
                Request(call, "batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job}")
            ]
        if operation in ("DescribeJobs", "ListJobs"):
            return [Request(call, f"batch:{operation}", "*")]
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{REGION}:{names.account}:table/{call['TableName']}"
        return [Request(call, f"dynamodb:{operation}", table)]
    raise AssertionError(f"no IAM mapping for {service}:{operation} ({call}): add it here")


class Names:
    """A deployment's resources by their physical names (job queues and definitions are
    given to Batch by name or by ARN)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.account = deployment.account

    # by name or by ARN (the local cloud's Batch answers with its own account's ARNs): both
    # mean this deployment's resource of that name
    def job_queue_arn(self, value: str) -> str:
        name = value.rsplit("/", 1)[-1]
        return f"arn:aws:batch:{REGION}:{self.account}:job-queue/{name}"

    def job_definition_arn(self, value: str) -> str:
        name, _, revision = value.rsplit("/", 1)[-1].partition(":")
        return f"arn:aws:batch:{REGION}:{self.account}:job-definition/{name}:{revision or 1}"


class _Computed(dict):
    """What Ref or Fn::GetAtt of a template's resource returns, computed when asked."""

    def __init__(self, resources: dict[str, Any], compute: Any) -> None:
        super().__init__()
        self._resources, self._compute = resources, compute

    def __contains__(self, key: object) -> bool:
        name = key[0] if isinstance(key, tuple) else key
        return name in self._resources

    def __getitem__(self, key: Any) -> str:
        return self._compute(key)


class Deployment:
    """One stage's synthesized template with every intrinsic resolved as it would be deployed
    in account ACCOUNT, region REGION: its roles' policies and its buckets' policies."""

    def __init__(self, template: dict[str, Any], stage: str, account: str = ACCOUNT) -> None:
        from textbatch.local.template import Resolver

        self.template = template
        self.stage = stage
        self.account = account
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self._resolver = Resolver(
            template,
            account,
            REGION,
            refs=_Computed(self.resources, self.ref),
            attributes=_Computed(self.resources, lambda key: self.attribute(*key)),
        )

    # -- intrinsics: the local cloud's resolver, with every resource's Ref and attributes
    def resolve(self, value: Any) -> Any:
        return self._resolver.resolve(value)

    def _name(self, logical: str, prop: str) -> str:
        given = self.resources[logical].get("Properties", {}).get(prop)
        return str(self.resolve(given)) if given is not None else f"{self.stage}-{logical}".lower()

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": f"Textbatch-{self.stage}",
        }
        if name in pseudo:
            return pseudo[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::S3::Bucket":
            return self._name(name, "BucketName")
        if kind == "AWS::Batch::JobQueue":
            queue = self._name(name, "JobQueueName")
            return f"arn:aws:batch:{REGION}:{self.account}:job-queue/{queue}"
        if kind == "AWS::Batch::JobDefinition":
            definition = self._name(name, "JobDefinitionName")
            return f"arn:aws:batch:{REGION}:{self.account}:job-definition/{definition}:1"
        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            return self._name(name, "TableName")
        if kind == "AWS::IAM::Role":
            return self._name(name, "RoleName")
        if kind == "AWS::Logs::LogGroup":
            return self._name(name, "LogGroupName")
        if kind == "AWS::SQS::Queue":
            return (
                f"https://sqs.{REGION}.amazonaws.com/{self.account}/{self._name(name, 'QueueName')}"
            )
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{self.account}:{self._name(name, 'TopicName')}"
        return f"{self.stage}-{name}".lower()

    def attribute(self, logical: str, attribute: str) -> str:
        kind = self.resources[logical]["Type"]
        if attribute in ("Arn", "JobQueueArn"):
            arns = {
                "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{self.ref(logical)}",
                "AWS::Batch::JobQueue": lambda: self.ref(logical),
                "AWS::DynamoDB::Table": lambda: self._table_arn(logical),
                "AWS::DynamoDB::GlobalTable": lambda: self._table_arn(logical),
                "AWS::IAM::Role": lambda: f"arn:aws:iam::{self.account}:role/{self.ref(logical)}",
                "AWS::Logs::LogGroup": lambda: (
                    f"arn:aws:logs:{REGION}:{self.account}:log-group:{self.ref(logical)}:*"
                ),
                "AWS::SQS::Queue": lambda: (
                    f"arn:aws:sqs:{REGION}:{self.account}:{self._name(logical, 'QueueName')}"
                ),
                "AWS::KMS::Key": lambda: (
                    f"arn:aws:kms:{REGION}:{self.account}:key/{logical.lower()}"
                ),
                "AWS::Lambda::Function": lambda: (
                    f"arn:aws:lambda:{REGION}:{self.account}:function:"
                    + self._name(logical, "FunctionName")
                ),
            }
            if kind in arns:
                return arns[kind]()
        return f"{logical}.{attribute}".lower()

    def _table_arn(self, logical: str) -> str:
        return f"arn:aws:dynamodb:{REGION}:{self.account}:table/{self.ref(logical)}"

    # -- policies
    def role_arn(self, logical: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.ref(logical)}"

    def identity_policies(self, role: str) -> list[dict[str, Any]]:
        """The role's inline policies and the AWS::IAM::Policy resources attached to it."""
        found = []
        properties = self.resources[role].get("Properties", {})
        for policy in properties.get("Policies", []):
            found.append(
                {"name": policy["PolicyName"], "policy": self.resolve(policy["PolicyDocument"])}
            )
        for logical, resource in self.resources.items():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            roles = [r.get("Ref") for r in resource["Properties"].get("Roles", [])]
            if role in roles:
                document = self.resolve(resource["Properties"]["PolicyDocument"])
                found.append({"name": logical, "policy": document})
        return found

    def bucket_policy(self, bucket_name: str) -> dict[str, Any] | None:
        for resource in self.resources.values():
            if resource["Type"] != "AWS::S3::BucketPolicy":
                continue
            if self.resolve(resource["Properties"]["Bucket"]) == bucket_name:
                return self.resolve(resource["Properties"]["PolicyDocument"])
        return None

    def role_of_function(self, function: str) -> str:
        """The logical id of the role a Lambda function (by logical id prefix) runs as."""
        for logical, resource in self.resources.items():
            if resource["Type"] == "AWS::Lambda::Function" and logical.startswith(function):
                return resource["Properties"]["Role"]["Fn::GetAtt"][0]
        raise KeyError(function)

    def job_roles(self, command: str) -> list[str]:
        """The roles of the job definitions that may run `command` (the train definition runs
        train; the predict definitions run predict and, as overrides, every other job)."""
        roles = []
        for resource in self.resources.values():
            if resource["Type"] != "AWS::Batch::JobDefinition":
                continue
            properties = resource["Properties"]["ContainerProperties"]
            runs = properties["Command"][0]
            if (runs == "train") == (command == "train"):
                roles.append(properties["JobRoleArn"]["Fn::GetAtt"][0])
        return sorted(set(roles))

    def roles_of(self, component: str) -> list[str]:
        if component == "trigger":
            return [self.role_of_function("TriggerTriggerFunction")]
        if component == "reporter":
            return [self.role_of_function("ReporterReporterFunction")]
        if component.startswith("job-"):
            return self.job_roles(component.removeprefix("job-"))
        raise KeyError(component)

    def physical_names(self) -> dict[str, str]:
        """Logical id -> physical name of the resources calls name (buckets, queues, job
        definitions, tables), to translate one stage's recorded names into another's."""
        kinds = ("AWS::S3::Bucket", "AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
        names = {k: self.ref(k) for k, r in self.resources.items() if r["Type"] in kinds}
        for logical, resource in self.resources.items():
            if resource["Type"] == "AWS::Batch::JobQueue":
                names[logical] = self._name(logical, "JobQueueName")
            if resource["Type"] == "AWS::Batch::JobDefinition":
                names[logical] = self._name(logical, "JobDefinitionName")
        return names


def translate(call: dict[str, Any], source: Deployment, target: Deployment) -> dict[str, Any]:
    """A call recorded against `source`'s resources, naming `target`'s instead."""
    mapping = {}
    theirs = target.physical_names()
    for logical, name in source.physical_names().items():
        if logical in theirs:
            mapping[name] = theirs[logical]
    # longest first: one name may start another (a bucket prefix)
    ordered = sorted(mapping, key=len, reverse=True)

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            for name in ordered:
                if name in value:
                    value = value.replace(name, mapping[name])
            return value
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    return {
        k: swap(v) if k not in ("component", "service", "operation") else v for k, v in call.items()
    }


def simulations(
    calls: list[dict[str, Any]], deployment: Deployment
) -> list[tuple[Request, str, dict]]:
    """(request, role, simulation) for each IAM request of each call, for each role the call's
    component runs as."""
    names = Names(deployment)
    found = []
    for call in calls:
        for role in deployment.roles_of(call["component"]):
            for request in requests_for(call, names):
                resource_policy = None
                if request.resource.startswith("arn:aws:s3:::"):
                    bucket = request.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                    resource_policy = deployment.bucket_policy(bucket)
                simulation = {
                    "identityPolicies": deployment.identity_policies(role),
                    "serviceControlPolicies": [],
                    "resourceControlPolicies": [],
                    "request": {
                        "action": request.action,
                        "principal": (
                            f"arn:aws:sts::{deployment.account}:assumed-role/{deployment.ref(role)}/session"
                        ),
                        "resource": {"accountId": deployment.account, "resource": request.resource},
                        # boto3 calls AWS over TLS only
                        "contextVariables": {"aws:SecureTransport": "true", **request.context},
                    },
                }
                if resource_policy is not None:
                    simulation["resourcePolicy"] = resource_policy
                found.append((request, role, simulation))
    return found


def evaluate(simulated: list[tuple[Request, str, dict]]) -> list[dict[str, Any]]:
    """Each simulation's decision by @cloud-copilot/iam-simulate, in order."""
    payload = [{"id": i, "simulation": s} for i, (_, _, s) in enumerate(simulated)]
    result = subprocess.run(
        ["node", str(SIMULATE)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def denied(calls: list[dict[str, Any]], deployment: Deployment) -> list[str]:
    """One line per IAM request that the deployment's policies would not allow."""
    simulated = simulations(calls, deployment)
    lines = []
    seen = set()
    for (request, role, _), decision in zip(simulated, evaluate(simulated), strict=True):
        if decision["result"] == "Allowed":
            continue
        call = request.call
        errors = f": {json.dumps(decision['errors'])}" if decision.get("errors") else ""
        line = (
            f"{deployment.stage}: {role} may not {request.action} on {request.resource} "
            f"({call['component']} {call['service']}:{call['operation']}; "
            f"{decision['result']}{errors})"
        )
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def read_calls(directory: Path) -> list[dict[str, Any]]:
    """Every call recorded under a call log directory, deduplicated."""
    unique = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            unique.setdefault(line, json.loads(line))
    return list(unique.values())
