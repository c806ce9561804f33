"""The upload trigger against a moto server: real boto3 calls to Batch and DynamoDB over HTTP."""

from __future__ import annotations

import json
import re
import threading
import time
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError
from textbatch_contract import CLAIM_LEASE_S, FUNCTION_TIMEOUT_S, client_config
from textbatch_trigger.handler import RecordsFailed, handle_event
from textbatch_trigger.idempotency import IdempotencyStore
from textbatch_trigger.objects import UploadedObject
from textbatch_trigger.settings import TriggerSettings
from textbatch_trigger.submission import job_name_for

from textbatch.cloud.history import describe, job_summaries


def s3_event(*objects: tuple[str, str, int, str | None]) -> dict:
    """An S3 notification as S3 sends it: keys URL-encoded, one record per object."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": "9b2cf535f27731c974343645a3985328",
                        **({"versionId": version} if version else {}),
                    },
                },
            }
            for bucket, key, size, version in objects
        ]
    }


def jobs(batch, settings) -> list[dict]:
    return describe(
        batch,
        [
            j["jobId"]
            for j in job_summaries(batch, [settings.gpu_job_queue, settings.cpu_job_queue])
        ],
    )


@pytest.fixture
def cloud(trigger_cloud):
    return trigger_cloud


def handle(event, cloud):
    settings, batch, dynamodb, s3 = cloud
    return handle_event(event, settings, batch=batch, dynamodb=dynamodb, s3=s3)


def test_every_record_of_an_event_gets_its_job_with_matching_parameters(cloud, capsys) -> None:
    settings, batch, _, _ = cloud
    result = handle(s3_event(("in", "a.csv", 10, "v1"), ("in", "sub/b.csv", 20, "v1")), cloud)
    assert [o["decision"] for o in result["outcomes"]] == ["submitted", "submitted"]
    by_input = {j["parameters"]["input"]: j for j in jobs(batch, settings)}
    assert set(by_input) == {"s3://in/a.csv", "s3://in/sub/b.csv"}
    assert by_input["s3://in/sub/b.csv"]["parameters"] == {
        "input": "s3://in/sub/b.csv",
        "output": "s3://results-bucket/sub/",
        "model": settings.model_location,  # no model published yet: the location as given
        "input_version": "v1",  # the revision the event is about, which the job reads
    }
    assert by_input["s3://in/a.csv"]["parameters"]["output"] == "s3://results-bucket/"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["decision"], x["key"]) for x in lines] == [
        ("submitted", "a.csv"),
        ("submitted", "sub/b.csv"),
    ]
    assert all(x["job_id"] and x["version"] == "v1" for x in lines)


def test_encoded_keys_with_spaces_plus_and_unicode(cloud) -> None:
    settings, batch, _, _ = cloud
    key = "claims 2026/my reviews+extra é.csv"
    result = handle(s3_event(("in", key, 10, None)), cloud)
    [outcome] = result["outcomes"]
    assert outcome["uri"] == f"s3://in/{key}"
    [job] = jobs(batch, settings)
    assert job["parameters"]["input"] == f"s3://in/{key}"
    assert job["parameters"]["output"] == "s3://results-bucket/claims 2026/"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,128}", job["jobName"])
    assert job["jobName"].startswith("tb-my-reviews-extra-")


def test_job_names_are_valid_and_unique_per_revision() -> None:
    long_key = "x" * 1000 + ".csv"
    name = job_name_for(UploadedObject("b", long_key, 1, "v1", None))
    assert len(name) <= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert name != job_name_for(UploadedObject("b", long_key, 1, "v2", None))
    assert job_name_for(UploadedObject("b", "ü.csv", 1, None, "e")).startswith("tb-file-")


def test_the_same_event_delivered_twice_submits_one_job(cloud, capsys) -> None:
    settings, batch, _, _ = cloud
    event = s3_event(("in", "a.csv", 10, "v1"))
    first = handle(event, cloud)["outcomes"][0]
    second = handle(event, cloud)["outcomes"][0]
    assert (first["decision"], second["decision"]) == ("submitted", "duplicate")
    assert second["job_id"] == first["job_id"]
    assert len(jobs(batch, settings)) == 1
    duplicate = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert duplicate["decision"] == "duplicate"
    assert duplicate["reason"] == "already submitted"


def test_concurrent_duplicate_deliveries_submit_one_job(cloud) -> None:
    settings, batch, _, _ = cloud
    event = s3_event(("in", "race.csv", 10, "v1"))
    decisions: list[str] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        try:
            decisions.append(handle(event, cloud)["outcomes"][0]["decision"])
        except RecordsFailed:  # found the winner's live claim: Lambda retries this one
            decisions.append("retried")

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert decisions.count("submitted") == 1
    assert set(decisions) <= {"submitted", "duplicate", "retried"}
    assert len(jobs(batch, settings)) == 1
    # the retries come later and find the job
    assert handle(event, cloud)["outcomes"][0]["decision"] == "duplicate"


def test_a_claim_left_by_a_dead_invocation_fails_the_retry_until_its_lease_ends(
    cloud, capsys, monkeypatch
) -> None:
    """The invocation that claimed the revision died before submitting (timed out): a retry
    within the lease fails, so Lambda retries again, and one after the lease submits."""
    settings, batch, dynamodb, _ = cloud
    claim_key = "in/dead.csv#v1"
    assert (
        IdempotencyStore(settings.idempotency_table, dynamodb)
        .claim(claim_key, uri="s3://in/dead.csv")
        .acquired
    )  # ... and then nothing: the function timed out
    event = s3_event(("in", "dead.csv", 10, "v1"))
    with pytest.raises(RecordsFailed, match="another invocation is submitting it"):
        handle(event, cloud)
    claimed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert claimed["decision"] == "claimed"
    assert jobs(batch, settings) == []
    # Lambda's next retry comes after the lease: the claim is taken over and the job submitted
    later = time.time() + CLAIM_LEASE_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert handle(event, cloud)["outcomes"][0]["decision"] == "submitted"
    assert len(jobs(batch, settings)) == 1


class fail_calls:
    """Make the client's `operation` calls raise `error` (the first `times` of them), as a
    throttled table or an invocation killed mid-way would; `failures` counts them."""

    def __init__(self, client, operation: str, error: type[BaseException], times: int = 10**6):
        self.client, self.event = client, f"before-call.*.{operation}"
        self.operation, self.error, self.times = operation, error, times
        self.failures: list[str] = []
        client.meta.events.register(self.event, self.fail)

    def fail(self, **_) -> None:
        if len(self.failures) < self.times:
            self.failures.append(self.operation)
            raise self.error(f"{self.operation} failed (injected)")

    def stop(self) -> None:
        self.client.meta.events.unregister(self.event, self.fail)


def test_a_dead_invocations_submitted_job_is_adopted_not_submitted_again(
    cloud, monkeypatch
) -> None:
    """SubmitJob succeeded, then the claim's `complete` kept failing (or the function timed out
    in between): the claim stays IN_PROGRESS, and the retry after the lease finds the job by
    its deterministic name and records it. One job for the revision."""
    settings, batch, dynamodb, _ = cloud
    event = s3_event(("in", "orphan.csv", 10, "v1"))
    failing = fail_calls(dynamodb, "UpdateItem", ConnectionError)
    with pytest.raises(RecordsFailed):
        handle(event, cloud)
    [job] = jobs(batch, settings)
    failing.stop()
    later = time.time() + CLAIM_LEASE_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    fresh = IdempotencyStore(settings.idempotency_table, dynamodb)
    outcome = handle(event, cloud)["outcomes"][0]
    assert (outcome["decision"], outcome["job_id"]) == ("adopted", job["jobId"])
    assert len(jobs(batch, settings)) == 1
    assert fresh.claim("in/orphan.csv#v1", uri="s3://in/orphan.csv").status == "SUBMITTED"


def test_the_claims_complete_is_retried(cloud) -> None:
    settings, batch, dynamodb, _ = cloud
    failing = fail_calls(dynamodb, "UpdateItem", ConnectionError, times=2)
    outcome = handle(s3_event(("in", "flaky.csv", 10, "v1")), cloud)["outcomes"][0]
    assert outcome["decision"] == "submitted"
    assert len(failing.failures) == 2
    assert len(jobs(batch, settings)) == 1


def test_a_chain_cut_short_by_a_dead_invocation_is_withdrawn_and_submitted_anew(
    cloud, monkeypatch
) -> None:
    """The function died after the split and the array job, before the merge: the retry after
    the lease withdraws both and submits a whole chain, with a parts prefix of its own."""
    settings, batch, _, _ = cloud
    size = settings.split_threshold_bytes + 1
    event = s3_event(("in", "cut.csv", size, "v1"))
    submitted: list[dict] = []
    batch.meta.events.register(
        "before-parameter-build.batch.SubmitJob", lambda params, **_: submitted.append(params)
    )

    def die(params, **_) -> None:
        if params["jobName"].endswith("-merge"):
            raise KeyboardInterrupt  # not an Exception: nothing is withdrawn, as in a timeout

    batch.meta.events.register("before-parameter-build.batch.SubmitJob", die)
    with pytest.raises(KeyboardInterrupt):
        handle(event, cloud)
    batch.meta.events.unregister("before-parameter-build.batch.SubmitJob", die)
    cut = {j["jobId"] for j in jobs(batch, settings) if ":" not in j["jobId"]}
    assert len(cut) == 2
    later = time.time() + CLAIM_LEASE_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    terminated: list[str] = []
    batch.meta.events.register(
        "before-parameter-build.batch.TerminateJob",
        lambda params, **_: terminated.append(params["jobId"]),
    )
    outcome = handle(event, cloud)["outcomes"][0]
    assert outcome["decision"] == "submitted"
    assert set(terminated) == cut  # withdrawn
    assert len([j for j in jobs(batch, settings) if ":" not in j["jobId"]]) == 5
    first, second = (
        params["containerOverrides"]["command"]
        for params in submitted
        if params["jobName"].endswith("-split")
    )
    parts = [c[c.index("--parts") + 1] for c in (first, second)]
    assert parts[0] != parts[1]
    assert all(p.startswith(f"{settings.results_location.rstrip('/')}/_parts/") for p in parts)


def test_the_claim_lease_outlives_the_function_but_not_its_first_retry() -> None:
    # Lambda retries a failed asynchronous invocation about 1 minute later, then 2 minutes
    assert FUNCTION_TIMEOUT_S < CLAIM_LEASE_S < FUNCTION_TIMEOUT_S + 60
    assert IdempotencyStore("t", None).lease_seconds == CLAIM_LEASE_S
    config = client_config(in_lambda=True)
    attempts = config["retries"]["total_max_attempts"]
    assert attempts * (config["connect_timeout"] + config["read_timeout"]) < FUNCTION_TIMEOUT_S


def test_a_new_version_of_the_same_key_is_new_work(cloud) -> None:
    settings, batch, _, _ = cloud
    handle(s3_event(("in", "a.csv", 10, "v1")), cloud)
    handle(s3_event(("in", "a.csv", 12, "v2")), cloud)
    assert len(jobs(batch, settings)) == 2


@pytest.mark.parametrize(
    ("key", "size", "reason"),
    [
        ("notes.txt", 10, "not a .csv file"),
        ("empty.csv", 0, "empty object (0 bytes)"),
        ("folder/", 0, "folder marker"),
    ],
)
def test_ignored_objects_say_why_and_submit_nothing(cloud, capsys, key, size, reason) -> None:
    settings, batch, _, _ = cloud
    [outcome] = handle(s3_event(("in", key, size, None)), cloud)["outcomes"]
    assert (outcome["decision"], outcome["reason"]) == ("ignored", reason)
    assert jobs(batch, settings) == []
    assert json.loads(capsys.readouterr().out)["reason"] == reason


def test_outputs_written_by_the_pipeline_do_not_loop(cloud) -> None:
    settings, batch, dynamodb, s3 = cloud
    shared = TriggerSettings(**{**settings.__dict__, "results_location": "s3://in/results/"})
    result = handle_event(
        s3_event(("in", "results/a_output.csv", 10, None)),
        shared,
        batch=batch,
        dynamodb=dynamodb,
        s3=s3,
    )
    assert result["outcomes"][0]["reason"] == "written by the pipeline (under the results location)"


def test_s3_test_event_and_eventbridge_shape(cloud) -> None:
    assert handle({"Service": "Amazon S3", "Event": "s3:TestEvent"}, cloud) == {"outcomes": []}
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": "in"},
            "object": {"key": "eb dir/x y.csv", "size": 5, "etag": "e1", "version-id": "v9"},
        },
    }
    [outcome] = handle(event, cloud)["outcomes"]
    assert outcome["uri"] == "s3://in/eb dir/x y.csv"  # EventBridge keys are not URL-encoded


def test_a_batch_failure_raises_and_leaves_the_key_retryable(cloud, capsys) -> None:
    settings, batch, dynamodb, s3 = cloud
    broken = TriggerSettings(
        **{**settings.__dict__, "gpu_job_queue": "no-such-queue", "cpu_job_queue": "no-such-queue"}
    )
    event = s3_event(("in", "a.csv", 10, "v1"))
    with pytest.raises(RecordsFailed, match=r"1 of 1 records failed: s3://in/a\.csv"):
        handle_event(event, broken, batch=batch, dynamodb=dynamodb, s3=s3)
    failed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert failed["decision"] == "failed"
    # the retry (as the asynchronous invocation would make) is not taken for a duplicate
    [outcome] = handle(event, cloud)["outcomes"]
    assert outcome["decision"] == "submitted"


def test_one_failing_record_does_not_hide_the_others(cloud) -> None:
    settings, batch, _, _ = cloud

    def refuse_b(params, **_):
        if params.get("parameters", {}).get("input") == "s3://in/b.csv":
            raise ClientError(
                {"Error": {"Code": "ServerException", "Message": "boom"}}, "SubmitJob"
            )

    batch.meta.events.register("provide-client-params.batch.SubmitJob", refuse_b)
    try:
        with pytest.raises(RecordsFailed, match=r"1 of 2 records failed: s3://in/b\.csv") as info:
            handle(s3_event(("in", "a.csv", 1, "v1"), ("in", "b.csv", 1, "v1")), cloud)
    finally:
        batch.meta.events.unregister("provide-client-params.batch.SubmitJob", refuse_b)
    assert "a.csv" not in str(info.value)
    assert [j["parameters"]["input"] for j in jobs(batch, settings)] == ["s3://in/a.csv"]
    # redelivery: a.csv is a duplicate, b.csv is submitted now
    decisions = [
        o["decision"]
        for o in handle(s3_event(("in", "a.csv", 1, "v1"), ("in", "b.csv", 1, "v1")), cloud)[
            "outcomes"
        ]
    ]
    assert decisions == ["duplicate", "submitted"]


def test_settings_come_from_the_function_environment() -> None:
    env = {
        "GPU_JOB_QUEUE": "q",
        "GPU_JOB_DEFINITION": "d",
        "CPU_JOB_QUEUE": "cq",
        "CPU_JOB_DEFINITION": "cd",
        "PREDICT_QUEUE": "auto",
        "SPLIT_THRESHOLD_BYTES": "1000000",
        "PART_BYTES": "200000",
        "CLUSTER_PREFIX": "cluster/",
        "RESULTS_LOCATION": "s3://r/",
        "MODEL_LOCATION": "s3://m/",
        "IDEMPOTENCY_TABLE": "t",
    }
    assert TriggerSettings.from_env(env).gpu_job_queue == "q"
    with pytest.raises(RuntimeError, match="lacks MODEL_LOCATION"):
        TriggerSettings.from_env({k: v for k, v in env.items() if k != "MODEL_LOCATION"})


def publish_manifest(s3, settings, *, version: str, wants_gpu: bool) -> None:
    bucket = settings.model_location.removeprefix("s3://").rstrip("/")
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    manifest = {"version": version, "architecture": "x", "wants_gpu": wants_gpu}
    s3.put_object(Bucket=bucket, Key=f"models/{version}/manifest.json", Body=json.dumps(manifest))
    s3.put_object(Bucket=bucket, Key="models/latest.json", Body=json.dumps({"version": version}))


@pytest.mark.parametrize(("wants_gpu", "queue"), [(True, "gpu"), (False, "cpu")])
def test_the_model_manifest_chooses_the_queue_and_pins_the_version(
    cloud, capsys, wants_gpu, queue
) -> None:
    settings, batch, _, _ = cloud
    publish_manifest(cloud[3], settings, version="v7", wants_gpu=wants_gpu)
    [outcome] = handle(s3_event(("in", "a.csv", 10, "v1")), cloud)["outcomes"]
    assert outcome["queue"] == queue
    [job] = jobs(batch, settings)
    assert job["jobQueue"] == getattr(settings, f"{queue}_job_queue")
    assert job["jobDefinition"].split("/")[-1].rsplit(":", 1)[0] == getattr(
        settings, f"{queue}_job_definition"
    )
    assert job["parameters"]["model"] == f"{settings.model_location}models/v7/"
    logged = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert logged["queue"] == queue
    assert logged["queue_reason"].startswith("model v7 (x) ")


def test_the_stage_setting_overrides_the_manifest(cloud) -> None:
    settings, batch, dynamodb, s3 = cloud
    publish_manifest(s3, settings, version="v8", wants_gpu=False)
    forced = TriggerSettings(**{**settings.__dict__, "predict_queue": "gpu"})
    handle_event(s3_event(("in", "a.csv", 10, "v1")), forced, batch=batch, dynamodb=dynamodb, s3=s3)
    [job] = jobs(batch, settings)
    assert job["jobQueue"] == settings.gpu_job_queue
    assert job["parameters"]["model"].endswith("models/v8/")


def test_an_unknown_queue_setting_is_refused(cloud) -> None:
    settings = cloud[0]
    with pytest.raises(RuntimeError, match="PREDICT_QUEUE is 'fast'"):
        TriggerSettings(**{**settings.__dict__, "predict_queue": "fast"})


def test_a_large_file_becomes_split_then_array_then_merge(cloud, capsys) -> None:
    settings, batch, _, _ = cloud  # threshold 1,000 bytes, parts of 400
    [outcome] = handle(s3_event(("in", "big/claims.csv", 2500, "v1")), cloud)["outcomes"]
    logged = json.loads(capsys.readouterr().out.splitlines()[-1])
    split = logged["split"]
    assert split["parts"] == 7
    # the chain's own prefix: the job's name and a token of this submission
    assert re.fullmatch(
        rf"s3://results-bucket/_parts/{outcome['job_name']}-[0-9a-f]{{8}}/", split["parts_prefix"]
    )
    by_id = {j["jobId"]: j for j in jobs(batch, settings)}
    first, array, merge = (
        by_id[split["split_job_id"]],
        by_id[outcome["job_id"]],
        by_id[split["merge_job_id"]],
    )
    assert first["jobName"] == outcome["job_name"] + "-split"
    assert first["container"]["command"][:2] == ["split", "--input"]
    assert array["arrayProperties"]["size"] == 7
    assert array["dependsOn"] == [{"jobId": first["jobId"]}]
    assert array["container"]["command"][0] == "predict-part"
    assert merge["dependsOn"] == [{"jobId": array["jobId"]}]
    assert merge["container"]["command"][0] == "merge"
    assert {j["parameters"]["input"] for j in (first, array, merge)} == {"s3://in/big/claims.csv"}
    small = handle(s3_event(("in", "small.csv", 1000, "v1")), cloud)["outcomes"][0]
    assert "split" not in json.loads(capsys.readouterr().out.splitlines()[-1])
    assert small["decision"] == "submitted"


def test_a_chain_that_half_fails_withdraws_the_jobs_already_submitted(cloud, capsys) -> None:
    settings, batch, dynamodb, s3 = cloud
    # The split goes to the CPU queue and succeeds; the array job's queue does not exist.
    broken = TriggerSettings(
        **{**settings.__dict__, "predict_queue": "gpu", "gpu_job_queue": "no-such-queue"}
    )
    event = s3_event(("in", "big/half.csv", 2500, "v1"))
    terminated = []
    batch.meta.events.register(
        "before-parameter-build.batch.TerminateJob", lambda params, **_: terminated.append(params)
    )
    with pytest.raises(RecordsFailed):
        handle_event(event, broken, batch=batch, dynamodb=dynamodb, s3=s3)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["decision"] for x in lines] == ["withdrawn", "failed"]
    assert "error" not in lines[0]
    [split] = describe(batch, [lines[0]["job_id"]])
    assert split["jobName"].endswith("-split")
    assert [t["jobId"] for t in terminated] == [split["jobId"]]
    assert "other jobs could not be submitted" in terminated[0]["reason"]
    # The retried event submits a whole chain of its own.
    [outcome] = handle(event, cloud)["outcomes"]
    assert outcome["decision"] == "submitted"
    retried = json.loads(capsys.readouterr().out.splitlines()[-1])["split"]
    assert retried["split_job_id"] != lines[0]["job_id"]


def test_an_upload_under_the_cluster_prefix_gets_one_cluster_job_on_the_cpu_queue(
    cloud, capsys
) -> None:
    """Whatever its size (the job streams it): no model, no split, the CPU queue."""
    settings, batch, _, _ = cloud  # split threshold 1,000 bytes
    [outcome] = handle(s3_event(("in", "cluster/q3/tickets.csv", 5000, "v7")), cloud)["outcomes"]
    assert (outcome["decision"], outcome["queue"]) == ("submitted", "cpu")
    [job] = jobs(batch, settings)
    assert job["jobQueue"].endswith(settings.cpu_job_queue.rsplit("/", 1)[-1])
    assert job["container"]["command"] == [
        "cluster", "--input", "s3://in/cluster/q3/tickets.csv", "--input-version", "v7",
        "--output", "s3://results-bucket/cluster/q3/",
    ]  # fmt: skip
    assert job["parameters"] == {
        "input": "s3://in/cluster/q3/tickets.csv",
        "output": "s3://results-bucket/cluster/q3/",
        "input_version": "v7",
    }
    logged = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (logged["decision"], logged["step"]) == ("submitted", "cluster")
    # the job's own parser takes the command the trigger built
    from textbatch.cli.main import build_parser

    parsed = build_parser().parse_args(job["container"]["command"])
    assert (parsed.input, parsed.input_version, parsed.clusters) == (
        "s3://in/cluster/q3/tickets.csv", "v7", "2-12",
    )  # fmt: skip
    again = handle(s3_event(("in", "cluster/q3/tickets.csv", 5000, "v7")), cloud)["outcomes"]
    assert again[0]["decision"] == "duplicate"  # once per revision, as every upload
