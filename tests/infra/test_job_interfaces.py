"""The synthesized job definitions and the code that submits to them agree on every parameter.

Each job definition's command names its parameters (`Ref::name`) and its Parameters give the
defaults of those a submission may leave out. The trigger (a single file, a large file's chain,
a cluster upload) and `textbatch train --submit` really submit, to a moto Batch holding the
definitions as synthesized; a parameter that the definition does not name would be passed to
no option (Batch leaves an unknown `Ref::` as it is), and one it needs but nobody fills would
reach the job as the literal `Ref::name`. Both fail here.
"""

from __future__ import annotations

import json
import re

import pytest
from textbatch_contract import stack as stack_outputs
from textbatch_contract.settings import STACK_OUTPUTS
from textbatch_trigger.handler import handle_event

from infra.settings import load_stage
from textbatch.cloud.deployment import Deployment
from textbatch.cloud.history import describe, job_summaries
from textbatch.cloud.training import submit_training
from textbatch.io.storage import Storage


def definition(synth, role: str) -> dict:
    name = f"{load_stage(synth.stage).prefix}-{role}"
    return synth.one("AWS::Batch::JobDefinition", JobDefinitionName=name)["Properties"]


def refs(props: dict) -> set[str]:
    command = props["ContainerProperties"]["Command"]
    return {arg.removeprefix("Ref::") for arg in command if arg.startswith("Ref::")}


def register(batch, name: str, props: dict) -> None:
    """The synthesized definition's command and defaults, on the moto server."""
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        parameters={name: f"default-{name}" for name in props.get("Parameters", {})},
        containerProperties={
            "image": "textbatch",
            "vcpus": 1,
            "memory": 512,
            "command": props["ContainerProperties"]["Command"],
        },
    )


def assert_agree(job: dict, props: dict) -> None:
    submitted = set(job["parameters"])
    named = refs(props)
    assert submitted <= named, f"{job['jobName']} passes {submitted - named}, no option takes it"
    missing = named - submitted - set(props.get("Parameters", {}))
    assert not missing, f"{job['jobName']} leaves {missing} unfilled and without a default"


def s3_event(key: str, size: int) -> dict:
    obj = {"key": key, "size": size, "eTag": "9b2cf535f27731c974343645a3985328", "versionId": "v1"}
    record = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
    return {"Records": [{**record, "s3": {"bucket": {"name": "in"}, "object": obj}}]}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_trigger_fills_exactly_the_parameters_the_predict_definitions_name(
    synths, trigger_cloud, stage
) -> None:
    settings, batch, dynamodb, s3 = trigger_cloud
    synth = synths[stage]
    predict, predict_cpu = definition(synth, "predict"), definition(synth, "predict-cpu")
    register(batch, settings.gpu_job_definition, predict)
    register(batch, settings.cpu_job_definition, predict_cpu)
    for key, size in (("one.csv", 10), ("big.csv", settings.split_threshold_bytes + 1),
                      ("cluster/tickets.csv", 10)):  # fmt: skip
        outcome = handle_event(s3_event(key, size), settings, batch=batch, dynamodb=dynamodb, s3=s3)
        assert outcome["outcomes"][0]["decision"] == "submitted"
    queues = [settings.gpu_job_queue, settings.cpu_job_queue]
    ids = [j["jobId"] for j in job_summaries(batch, queues) if ":" not in j["jobId"]]
    submitted = describe(batch, ids)  # (an array's children carry its parameters)
    # one job, a chain of three (split, array, merge) and a cluster job
    assert len(submitted) == 5
    for job in submitted:
        role = "predict-cpu" if job["jobQueue"] == settings.cpu_job_queue else "predict"
        assert_agree(job, {"predict": predict, "predict-cpu": predict_cpu}[role])


@pytest.mark.parametrize(("architecture", "role"), [("cnn", "train"), ("knn", "train-cpu")])
def test_train_submit_fills_exactly_the_parameters_the_train_definition_names(
    synths, trigger_cloud, tmp_path, architecture, role
) -> None:
    """On the definition its config's family wants: a torch family's on the GPU queue, the
    others' (the CPU image's) on the CPU queue."""
    settings, batch, _, s3 = trigger_cloud
    train = definition(synths["dev"], role)
    register(batch, f"tb-{role}", train)
    for bucket in ("config", "training"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="training", Key="claims.csv", Body=b"label,text\na,b\n")
    deployment = Deployment(
        "Textbatch-test",
        {
            STACK_OUTPUTS["gpu_job_queue"]: settings.gpu_job_queue,
            STACK_OUTPUTS["cpu_job_queue"]: settings.cpu_job_queue,
            stack_outputs.TRAIN_JOB_DEFINITION: "tb-train",
            stack_outputs.TRAIN_CPU_JOB_DEFINITION: "tb-train-cpu",
            stack_outputs.TRAIN_QUEUE: "auto",
            stack_outputs.CONFIG_BUCKET: "config",
            stack_outputs.TRAINING_BUCKET: "training",
        },
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"architecture": architecture, "ngram_buckets": 1 << 16}))
    for out, promote in ((None, None), ("s3://models/elsewhere/", "never")):
        reply = submit_training(
            deployment,
            config=str(config),
            data="s3://training/claims.csv",
            out=out,
            promote=promote,
            batch=batch,
            storage=Storage(s3),
        )
        [job] = describe(batch, [reply["jobId"]])
        assert_agree(job, train)
        assert job["jobQueue"] == reply["queue"]
        wanted = settings.gpu_job_queue if role == "train" else settings.cpu_job_queue
        assert reply["queue"] == wanted
        assert re.fullmatch(r"tb-train-claims", job["jobName"])
