"""Assertions on the synthesized templates, for every stage."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from textbatch_contract import FUNCTION_TIMEOUT_S
from textbatch_contract import settings as trigger_settings
from textbatch_contract.jobs import IMAGE_TAG, NEUTRALISE_FORMULAS_ENV, VCPUS_ENV, WHY_ENV
from textbatch_contract.review import COMPARE_COLUMN_ENV

from infra.job_specs import JOB_SPECS, SCRATCH_PATH
from infra.settings import SettingsError, load_stage

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

ROOT = Path(__file__).resolve().parents[2]
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def statements(synth, role_prefix: str = "") -> list[dict]:
    """Policy statements, optionally of the roles whose logical id starts with role_prefix."""
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role_prefix) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_cdk_nag_reports_no_unacknowledged_finding(synth) -> None:
    [report] = synth.validation["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success", report["violations"]


CHECKOV = ROOT / ".checkov" / "venv" / "bin" / "checkov"


def test_checkov_reports_no_unacknowledged_finding(synth) -> None:
    """A second, independent reading of the template: every finding is fixed or acknowledged
    next to its resource (Metadata.checkov.skip, infra/nag.py), so a new one fails here."""
    assert CHECKOV.is_file(), "checkov is not installed: run `make checkov` (make test does)"
    result = subprocess.run(
        [str(CHECKOV), "-f", str(synth.template_path), "--framework", "cloudformation",
         "--output", "json", "--quiet", "--compact"],
        capture_output=True, text=True,
    )  # fmt: skip
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    failed = report.get("results", {}).get("failed_checks", [])
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert not failed, [(f["check_id"], f["resource"], f["check_name"]) for f in failed]
    assert report["summary"]["passed"] > 200  # it did read the template
    skipped = report.get("results", {}).get("skipped_checks", [])
    assert all(s.get("suppress_comment") for s in skipped)  # each with its reason


def test_cfn_lint_passes(synth) -> None:
    result = subprocess.run(
        [CFN_LINT, "-t", str(synth.template_path), "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gpu_environments_use_gpu_instances_and_scale_to_zero(synth) -> None:
    settings = load_stage(synth.stage)
    gpu = [
        r["Properties"]["ComputeResources"]
        for r in synth.resources("AWS::Batch::ComputeEnvironment").values()
        if any(
            t.startswith("g") for t in r["Properties"]["ComputeResources"].get("InstanceTypes", [])
        )
    ]
    assert gpu
    for resources in gpu:
        assert resources["MinvCpus"] == 0
        # Amazon Linux 2023's NVIDIA AMI: Amazon Linux 2's support ended 2026-06-30
        assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023_NVIDIA"}]
        assert set(resources["InstanceTypes"]) == set(settings.gpu_instance_types)
    types = sorted(r["Type"] for r in gpu)
    assert types == (["EC2", "SPOT"] if settings.use_spot else ["EC2"])
    for r in synth.resources("AWS::Batch::ComputeEnvironment").values():
        assert r["Properties"]["ComputeResources"]["MinvCpus"] == 0


def test_every_compute_environment_runs_amazon_linux_2023(synth) -> None:
    """Without an image type Batch starts ECS_AL2 instances (out of support since 2026-06-30)."""
    environments = synth.resources("AWS::Batch::ComputeEnvironment").values()
    assert len(environments) == (4 if load_stage(synth.stage).use_spot else 2)
    for environment in environments:
        resources = environment["Properties"]["ComputeResources"]
        gpu = any(t.startswith("g") for t in resources.get("InstanceTypes", []))
        image = "ECS_AL2023_NVIDIA" if gpu else "ECS_AL2023"
        assert resources.get("Ec2Configuration") == [{"ImageType": image}], resources


def test_every_instance_requires_imdsv2_with_one_hop(synth) -> None:
    """A container cannot reach the instance's role through the metadata service."""
    [(template_id, template)] = synth.resources("AWS::EC2::LaunchTemplate").items()
    options = template["Properties"]["LaunchTemplateData"]["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    assert options["HttpPutResponseHopLimit"] == 1
    environments = synth.resources("AWS::Batch::ComputeEnvironment").values()
    assert environments
    for environment in environments:
        launch = environment["Properties"]["ComputeResources"]["LaunchTemplate"]
        assert launch["LaunchTemplateId"] == {"Ref": template_id}


def test_a_job_no_instance_can_run_is_cancelled_after_the_stage_limit(synth) -> None:
    minutes = load_stage(synth.stage).runnable_timeout_minutes
    queues = synth.resources("AWS::Batch::JobQueue").values()
    assert len(queues) == 2
    for queue in queues:
        actions = queue["Properties"]["JobStateTimeLimitActions"]
        assert {a["Reason"] for a in actions} == {
            "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
            "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
            "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        }
        for action in actions:
            assert (action["Action"], action["State"]) == ("CANCEL", "RUNNABLE")
            assert action["MaxTimeSeconds"] == minutes * 60


def test_spot_comes_first_with_on_demand_behind_it_in_each_queue(synth) -> None:
    settings = load_stage(synth.stage)
    queues = synth.resources("AWS::Batch::JobQueue")
    assert len(queues) == 2
    environments = synth.resources("AWS::Batch::ComputeEnvironment")
    for queue in queues.values():
        order = sorted(queue["Properties"]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
        kinds = [
            environments[o["ComputeEnvironment"]["Fn::GetAtt"][0]]["Properties"][
                "ComputeResources"
            ]["Type"]
            for o in order
        ]
        assert kinds == (["SPOT", "EC2"] if settings.use_spot else ["EC2"])


@pytest.mark.parametrize("spec", JOB_SPECS, ids=lambda s: s.role)
def test_job_definitions(synth, spec) -> None:
    settings = load_stage(synth.stage)
    definition = synth.one(
        "AWS::Batch::JobDefinition", JobDefinitionName=f"{settings.prefix}-{spec.role}"
    )
    props = definition["Properties"]
    container = props["ContainerProperties"]
    assert container["Command"] == list(spec.command)
    requirements = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
    assert requirements.get("GPU") == (str(spec.gpus) if spec.gpus else None)
    assert requirements["VCPU"] == str(spec.vcpus)
    # the job's workers follow its vCPUs, not the host's cores (textbatch.model.workers)
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment[VCPUS_ENV] == requirements["VCPU"]
    # spreadsheet-safe cells only where the stage asks (off by default: it changes cells)
    wanted = settings.neutralise_formulas and spec.role.startswith("predict")
    assert (environment.get(NEUTRALISE_FORMULAS_ENV) == "1") == wanted
    # review routing's stage settings reach the predict definitions (which split and merge too)
    predicting = spec.role.startswith("predict")
    assert environment.get(COMPARE_COLUMN_ENV) == (settings.compare_column if predicting else None)
    assert (environment.get(WHY_ENV) == "0") == (predicting and not settings.why_column)
    timeout = getattr(settings, spec.timeout_setting) * 60
    assert props["Timeout"] == {"AttemptDurationSeconds": timeout}
    retry = props["RetryStrategy"]
    assert retry["Attempts"] == settings.job_attempts
    rules = retry["EvaluateOnExit"]
    assert {"Action": "RETRY", "OnStatusReason": "Host EC2*"} in rules
    assert rules[-1] == {"Action": "EXIT", "OnExitCode": "*"}  # application errors are final
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    # nothing writes into the image: temporary files go to a scratch volume of Docker's own
    assert container["ReadonlyRootFilesystem"] is True
    assert container["LinuxParameters"]["InitProcessEnabled"] is True  # SIGTERM reaches the job
    assert container["Volumes"] == [{"Host": {}, "Name": "scratch"}]
    assert container["MountPoints"] == [{"ContainerPath": SCRATCH_PATH, "SourceVolume": "scratch"}]
    assert set(spec.parameter_names) >= {p for p in props.get("Parameters", {})}


def test_every_bucket_is_encrypted_private_and_tls_only(synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    assert len(buckets) == 6
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.resources("AWS::S3::BucketPolicy").values()
    }
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policies[logical_id]
        ), logical_id
        expected = "Retain" if synth.stage == "prod" else "Delete"
        assert bucket["DeletionPolicy"] == expected


def test_predict_and_models_buckets_are_versioned(synth) -> None:
    versioned = [
        json.dumps(b["Properties"]["BucketName"])
        for b in synth.resources("AWS::S3::Bucket").values()
        if b["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled"
    ]
    assert any("-predict-" in name for name in versioned)
    assert any("-models-" in name for name in versioned)


def test_csv_uploads_in_any_letter_case_notify_the_trigger(synth) -> None:
    [notifications] = synth.resources("Custom::S3BucketNotifications").values()
    configs = notifications["Properties"]["NotificationConfiguration"][
        "LambdaFunctionConfigurations"
    ]
    suffixes = sorted(c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in configs)
    # claims.Csv is a CSV too (the trigger and the jobs compare the suffix case-insensitively)
    assert len(suffixes) == 8
    assert {s.lower() for s in suffixes} == {".csv"}
    assert {c["Events"][0] for c in configs} == {"s3:ObjectCreated:*"}


def test_trigger_function_environment_runtime_and_failure_destination(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    function = synth.one("AWS::Lambda::Function", FunctionName=f"{prefix}-trigger")
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Timeout"] == FUNCTION_TIMEOUT_S  # the clients' time bounds assume it
    assert props["Handler"] == "textbatch_trigger.handler.lambda_handler"
    variables = props["Environment"]["Variables"]
    assert set(variables) == set(trigger_settings.ENV_VARS.values())
    assert variables["GPU_JOB_DEFINITION"] == f"{prefix}-predict"
    assert variables["CPU_JOB_DEFINITION"] == f"{prefix}-predict-cpu"
    assert variables["PREDICT_QUEUE"] == load_stage(synth.stage).predict_queue
    configs = synth.resources("AWS::Lambda::EventInvokeConfig").values()
    assert len(configs) == 2  # the trigger's and the failure reporter's
    for config in configs:
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
        assert config["Properties"]["MaximumRetryAttempts"] == 2


def test_failed_jobs_go_to_the_alerts_and_the_failure_reporter(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    reporter = synth.one("AWS::Lambda::Function", FunctionName=f"{prefix}-reporter")
    assert reporter["Properties"]["Handler"] == "textbatch_reporter.handler.lambda_handler"
    [rule] = [
        r
        for r in synth.resources("AWS::Events::Rule").values()
        if r["Properties"].get("Name") == f"{prefix}-failed-jobs"
    ]
    assert rule["Properties"]["EventPattern"]["detail"]["status"] == ["FAILED"]
    targets = rule["Properties"]["Targets"]
    assert len(targets) == 2
    assert any(
        "Fn::GetAtt" in t["Arn"] and "Reporter" in t["Arn"]["Fn::GetAtt"][0] for t in targets
    )


def test_no_full_access_or_wildcard_policies(synth) -> None:
    text = json.dumps(synth.template)
    assert "FullAccess" not in text
    for statement in statements(synth):
        for action in as_list(statement["Action"]):
            assert action not in ("*", "s3:*", "batch:*", "dynamodb:*"), statement


def test_job_roles_get_exactly_the_s3_actions_the_jobs_use(synth) -> None:
    for role, expected in [
        (
            # DeleteObject: the merge job removes a large file's parts; GetObjectVersion: the
            # jobs read the uploaded revision (every call is evaluated: tests/e2e/test_permissions)
            "PredictJobRole",
            {
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListBucket",
                "s3:DeleteObject",
            },
        ),
        (
            "TrainJobRole",
            {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListBucket"},
        ),
    ]:
        actions = {a for s in statements(synth, role) for a in as_list(s["Action"])}
        assert actions == expected, role


def test_names_derive_from_the_stage_prefix(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    for kind, key in [
        ("AWS::Batch::JobQueue", "JobQueueName"),
        ("AWS::Batch::JobDefinition", "JobDefinitionName"),
        ("AWS::DynamoDB::GlobalTable", "TableName"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::SQS::Queue", "QueueName"),
    ]:
        for resource in synth.resources(kind).values():
            assert resource["Properties"][key].startswith(prefix), (
                kind,
                resource["Properties"][key],
            )
    for bucket in synth.resources("AWS::S3::Bucket").values():
        assert json.dumps(bucket["Properties"]["BucketName"]).startswith(
            f'{{"Fn::Join": ["", ["{prefix}-'
        )


def test_failed_jobs_notify_the_alerts_topic_and_alarms_are_wired(synth) -> None:
    [rule] = synth.resources("AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"]["status"] == ["FAILED"]
    assert pattern["detail-type"] == ["Batch Job State Change"]
    [topic_id] = synth.resources("AWS::SNS::Topic")
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": topic_id}
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 5
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_idempotency_table_has_ttl(synth) -> None:
    [table] = synth.resources("AWS::DynamoDB::GlobalTable").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_every_log_group_has_a_retention(synth) -> None:
    days = load_stage(synth.stage).log_retention_days
    groups = synth.resources("AWS::Logs::LogGroup")
    assert len(groups) >= 3
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {days}


def test_outputs_name_what_a_user_needs_next(synth) -> None:
    assert {
        "PredictBucket", "ResultsBucket", "TrainingBucket", "ModelsBucket", "ConfigBucket",
        "GpuJobQueue", "CpuJobQueue", "JobLogGroup", "TriggerLogGroup", "AlertsTopic",
    } <= set(synth.template["Outputs"])  # fmt: skip


def test_two_images_whose_contexts_hold_only_the_package(synth) -> None:
    manifest = json.loads((synth.outdir / f"Textbatch-{synth.stage}.assets.json").read_text())
    images = {i["source"]["dockerFile"]: i for i in manifest["dockerImages"].values()}
    assert set(images) == {"batch_images/Dockerfile.gpu", "batch_images/Dockerfile.cpu"}
    for dockerfile, image in images.items():
        context = synth.outdir / image["source"]["directory"]
        files = [p.relative_to(context) for p in context.rglob("*") if p.is_file()]
        names = {p.parts[0] for p in files}
        assert names == {
            ".dockerignore",
            "README.md",
            "pyproject.toml",
            "textbatch",
            "functions",
            "batch_images",
        }
        assert (context / dockerfile).is_file()
        # no wheels `make images` downloaded: in AWS pip reads PyPI (the mount point stays)
        assert {str(p) for p in files if p.parts[:2] == ("batch_images", "wheels")} == {
            "batch_images/wheels/.keep"
        }
        assert (context / "functions/contract/python/textbatch_contract/__init__.py").is_file()
    # one torch: the GPU image is built with the version this venv (and so every test) runs
    pinned = (ROOT / "batch_images" / "torch-version.txt").read_text().strip()
    gpu = images["batch_images/Dockerfile.gpu"]["source"]
    assert gpu.get("dockerBuildArgs") == {"TORCH_VERSION": pinned}
    assert "dockerBuildArgs" not in images["batch_images/Dockerfile.cpu"]["source"]
    assert version("torch").split("+")[0] == pinned
    # each job definition runs the image its role needs
    asset_of = {
        hash_: image["source"]["dockerFile"].rsplit(".", 1)[1]
        for hash_, image in manifest["dockerImages"].items()
    }
    for spec in JOB_SPECS:
        definition = synth.one(
            "AWS::Batch::JobDefinition",
            JobDefinitionName=f"{load_stage(synth.stage).prefix}-{spec.role}",
        )
        image = json.dumps(definition["Properties"]["ContainerProperties"]["Image"])
        [used] = [kind for hash_, kind in asset_of.items() if hash_ in image]
        assert used == spec.image
        # the tag says which, for the local cloud (which runs the image `make images` built)
        assert definition["Properties"]["Tags"] == {IMAGE_TAG: spec.image}


@pytest.mark.parametrize(
    ("kind", "base"),
    [
        ("gpu", r"public\.ecr\.aws/docker/library/python:3\.11-slim-bookworm"),
        ("cpu", r"public\.ecr\.aws/docker/library/python:3\.11-slim-bookworm"),
    ],
)
def test_each_dockerfile_has_a_base_argument_and_runs_textbatch_as_non_root(kind, base) -> None:
    text = (ROOT / "batch_images" / f"Dockerfile.{kind}").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert re.fullmatch(rf"ARG BASE={base}", instructions[0])
    assert instructions[1] == "FROM ${BASE}"
    assert "--mount=type=bind,source=batch_images/wheels,target=/tmp/wheels" in text
    assert "spacy download" not in text  # the vectors come from the package registry
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["textbatch"]' in instructions


def test_stage_settings_are_validated(tmp_path) -> None:
    with pytest.raises(SettingsError, match="no settings for stage 'qa'"):
        load_stage("qa")
    raw = json.loads((ROOT / "config" / "stages" / "dev.json").read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**raw, "gpu_instance_types": ["m5.large"]}))
    with pytest.raises(SettingsError, match="gpu_instance_types"):
        load_stage("bad", tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({**raw, "compare_column": "  "}))
    with pytest.raises(SettingsError, match="compare_column: a column name, or null"):
        load_stage("bad", tmp_path)


def test_metrics_come_from_the_jobs_json_lines(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in synth.resources("AWS::Logs::MetricFilter").values()
    }
    assert set(filters) == {
        "RowsProcessed",
        "RowsRejected",
        "JobDuration",
        "ValidationAccuracy",
        "JobErrors",
        "FilesShiftHigh",
        "RowsToReview",
    }
    shifted = filters["FilesShiftHigh"]
    assert shifted["FilterPattern"] == '{ $.event = "shift" && $.level = "high" }'
    alarms = synth.resources("AWS::CloudWatch::Alarm").values()
    alarmed = {a["Properties"].get("MetricName") for a in alarms}
    assert "FilesShiftHigh" in alarmed
    # rejected rows page as a share of the rows in, not on one empty row
    [rejected] = [a["Properties"] for a in alarms if "Metrics" in a["Properties"]]
    [expression] = [m for m in rejected["Metrics"] if "Expression" in m]
    assert expression["Expression"] == (
        "IF(processed > 0 AND rejected >= 10, 100 * rejected / processed, 0)"
    )
    used = {
        m["Id"]: m["MetricStat"]["Metric"]["MetricName"]
        for m in rejected["Metrics"]
        if "MetricStat" in m
    }
    assert used == {"rejected": "RowsRejected", "processed": "RowsProcessed"}
    assert (rejected["Threshold"], rejected["ComparisonOperator"]) == (
        1.0,
        "GreaterThanOrEqualToThreshold",
    )
    rows = filters["RowsProcessed"]
    assert rows["FilterPattern"] == '{ $.job = "predict" && $.event = "done" }'
    assert rows["MetricTransformations"][0]["MetricValue"] == "$.rows_in"
    assert rows["MetricTransformations"][0]["MetricNamespace"] == f"Textbatch/{prefix}"
    assert (
        filters["ValidationAccuracy"]["MetricTransformations"][0]["MetricValue"]
        == "$.validation_accuracy"
    )
    [job_logs] = [
        k
        for k, g in synth.resources("AWS::Logs::LogGroup").items()
        if g["Properties"].get("LogGroupName") == f"/aws/batch/{prefix}-jobs"
    ]
    assert {f["LogGroupName"]["Ref"] for f in filters.values()} == {job_logs}


def test_the_metric_filters_match_what_the_jobs_log() -> None:
    """The filters' fields exist in the events the jobs really write."""
    import inspect

    from textbatch.jobs import predict, train

    assert "rows_rejected=summary.rows_rejected" in inspect.getsource(predict._predict)
    assert "rows_in=summary.rows_in" in inspect.getsource(predict._predict)
    assert 'validation_accuracy=metrics["validation"]["accuracy"]' in inspect.getsource(
        train.run_train
    )


def test_saved_queries_and_dashboard(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in synth.resources("AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {f"{prefix}/what-happened-to-file", f"{prefix}/failed-jobs-today"}
    assert (
        'filter uri = "s3://BUCKET/KEY"'
        in queries[f"{prefix}/what-happened-to-file"]["QueryString"]
    )
    assert len(queries[f"{prefix}/what-happened-to-file"]["LogGroupNames"]) == 2
    assert 'filter event = "failed"' in queries[f"{prefix}/failed-jobs-today"]["QueryString"]
    [dashboard] = synth.resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "RowsProcessed",
        "RowsRejected",
        "JobDuration",
        "ValidationAccuracy",
        "JobErrors",
    ):
        assert metric in body
    assert "alarm" in body.lower()


def test_only_the_parts_prefix_and_error_reports_may_be_deleted(synth) -> None:
    """The merge job removes a large file's parts; a job that succeeds removes an earlier
    revision's error report beside its result. Nothing else (no result, no upload)."""
    deleting = [
        s for s in statements(synth, "PredictJobRole") if "s3:DeleteObject" in as_list(s["Action"])
    ]
    resources = sorted(json.dumps(r) for s in deleting for r in as_list(s["Resource"]))
    assert len(resources) == 2
    assert resources[0].endswith('/*_error.json"]]}')
    assert resources[1].endswith('/_parts/*"]]}')
    assert all("Results" in r for r in resources)


def test_both_functions_get_the_contract_layer_with_the_package_on_the_path(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    [(layer_id, layer)] = synth.resources("AWS::Lambda::LayerVersion").items()
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]
    for name in ("trigger", "reporter"):
        function = synth.one("AWS::Lambda::Function", FunctionName=f"{prefix}-{name}")
        contract, powertools = function["Properties"]["Layers"]
        assert contract == {"Ref": layer_id}
        assert powertools == POWERTOOLS_LAYER
    # the layer's asset as synthesized: Lambda puts its python/ folder on sys.path
    package = asset_dir(synth, layer) / "python" / "textbatch_contract"
    assert (package / "__init__.py").is_file()
    assert (package / "outputs.py").is_file()
    # and the functions' own assets carry no copy of it
    for name in ("trigger", "reporter"):
        function = synth.one("AWS::Lambda::Function", FunctionName=f"{prefix}-{name}")
        assert not list(asset_dir(synth, function).rglob("textbatch_contract"))


# the layer AWS publishes, of the version pip installed here (pinned in pyproject.toml), for the
# functions' runtime and architecture, resolved from AWS's public parameter at deploy time
POWERTOOLS_LAYER = (
    "{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.14/"
    f"{version('aws-lambda-powertools')}}}}}"
)


def test_the_functions_get_the_powertools_layer_of_the_pinned_version(synth) -> None:
    pinned = re.search(r'"aws-lambda-powertools==([^"]+)"', PYPROJECT.read_text()).group(1)
    assert pinned == version("aws-lambda-powertools")
    for name in ("trigger", "reporter"):
        function = synth.one(
            "AWS::Lambda::Function", FunctionName=f"{load_stage(synth.stage).prefix}-{name}"
        )
        assert function["Properties"]["Architectures"] == ["x86_64"]
        assert function["Properties"]["Runtime"] == "python3.14"
        assert POWERTOOLS_LAYER in function["Properties"]["Layers"]


def asset_dir(synth, resource: dict) -> Path:
    """The directory cdk synth staged for a Lambda function's or layer's code."""
    content = resource["Properties"].get("Content") or resource["Properties"]["Code"]
    return synth.outdir / f"asset.{content['S3Key'].removesuffix('.zip')}"


def test_every_trigger_setting_is_a_stack_output_for_textbatch_submit(synth) -> None:
    """The trigger reads its settings from its environment, `textbatch submit` from the stack's
    outputs: both named by textbatch_contract.settings, so a new setting reaches both."""
    outputs = synth.template["Outputs"]
    for output in trigger_settings.STACK_OUTPUTS.values():
        assert output in outputs, output


def test_every_metric_filter_matches_a_line_the_jobs_really_write(
    synth, trained, sample_predict, tmp_path
) -> None:
    """The filters are built from textbatch_contract.events; the lines from a real train and
    predict run: a renamed event or key fails here, not silently in CloudWatch."""
    from textbatch.errors import TextbatchError
    from textbatch.jobs.events import EventLog
    from textbatch.jobs.predict import PredictRequest, run_predict

    model, _ = trained
    lines = (model.parent / "train.log").read_text().splitlines()
    log = io.StringIO()
    run_predict(
        PredictRequest(model=str(model), input=str(sample_predict), output=str(tmp_path)),
        log=EventLog(log, job="predict"),
    )
    # a file unlike the training data: the shift metric's line
    words = ["quantum", "orbit", "telescope", "galaxy", "nebula", "photon", "comet", "gravity"]
    (tmp_path / "space.csv").write_text(
        "text\n"
        + "".join(" ".join(words[(i + j) % 8] for j in range(20)) + "\n" for i in range(150))
    )
    run_predict(
        PredictRequest(model=str(model), input=str(tmp_path / "space.csv"), output=str(tmp_path)),
        log=EventLog(log, job="predict"),
    )
    lines += log.getvalue().splitlines()
    (tmp_path / "empty.csv").write_text("")  # a failed job's line too
    with pytest.raises(TextbatchError, match="empty"):
        run_predict(
            PredictRequest(
                model=str(model), input=str(tmp_path / "empty.csv"), output=str(tmp_path)
            ),
            log=EventLog(log, job="predict"),
        )
    lines += log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    for f in synth.resources("AWS::Logs::MetricFilter").values():
        pattern = f["Properties"]["FilterPattern"].strip("{} ")
        value = f["Properties"]["MetricTransformations"][0]["MetricValue"]
        terms = [re.fullmatch(r'\$\.(\w+) = "([^"]*)"', t.strip()) for t in pattern.split("&&")]
        assert all(terms), pattern
        matching = [r for r in records if all(r.get(t[1]) == t[2] for t in terms)]
        assert matching, f"no job line matches {pattern}"
        if value.startswith("$."):
            assert all(isinstance(r[value[2:]], int | float) for r in matching), value


def test_a_failed_large_files_parts_expire(synth) -> None:
    [results] = [
        b
        for b in synth.resources("AWS::S3::Bucket").values()
        if "-results-" in json.dumps(b["Properties"]["BucketName"])
    ]
    rules = results["Properties"]["LifecycleConfiguration"]["Rules"]
    [parts] = [r for r in rules if r.get("Prefix") == "_parts/"]
    assert (parts["Status"], parts["ExpirationInDays"]) == ("Enabled", 7)


def test_eventbridge_may_publish_alerts_only_for_the_failed_jobs_rule(synth) -> None:
    prefix = load_stage(synth.stage).prefix
    [policy] = synth.resources("AWS::SNS::TopicPolicy").values()
    for_events = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    [key] = synth.resources("AWS::KMS::Key").values()
    for_events += [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(for_events) == 2
    for statement in for_events:
        source = json.dumps(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
        assert f":rule/{prefix}-failed-jobs" in source
